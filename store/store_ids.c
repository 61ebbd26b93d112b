/*
 * The event-id index: which sequence and agency stored an event id. It lives
 * in an environment of its own, ids/, committed without fsync, because it
 * is an index of the log, not a second truth: every log record (version 3)
 * carries its event id under the seal, and ids/meta "indexed_through" says
 * up to which sequence the index has seen the log. Whatever an OS crash
 * or a failed commit leaves unindexed is indexed again from the log, under
 * the append's own write transactions, before the next event is looked up
 * (store__ids_catch_up).
 *
 * Why not in log/: an id's key is its time then a keyed hash, and the
 * events of one report week share the time, so each new id lands on a
 * random page of a tree of millions. In log/ every such page was written
 * and fdatasync'd before the ack: the synced commit was three quarters
 * index pages (docs/PERFORMANCE.md, change 10). Now the synced commit is
 * the log's appended pages only.
 *
 * Lock order, for every process: ids/ before log/ (and derived/ before
 * both, store_purge).
 *
 * A store from before format 4 keeps its older entries in log/ids
 * ("ids_in_log"), looked up there too, and indexed ids/ from "ids_from"
 * on; its records before that are version 2 and carry no id.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "common/log.h"
#include "store/store_int.h"

/* The idempotency index names the agency only under the seal. Its key is
 * the id's first 8 bytes as sent, then a keyed hash of the whole id: with
 * ids that begin with the occurrence time (PROTOCOL.md) a batch's entries
 * land on a few neighbouring pages, where a hash alone put each on a random
 * page of a tree of millions, every one written and fdatasync'd. The hub
 * cannot check that those bytes are the time, so it keeps them in the
 * clear only when they read as one (ms since the epoch, 2000 to 2100):
 * anything else an agency put there — random bytes, or a CPR against the
 * protocol's rule — is hashed with the rest. */
#define IDS_PLAIN     (8 + 1 + STORE_ID_MAX)
#define IDS_TIME_FROM INT64_C(946684800000)  /* 2000-01-01 */
#define IDS_TIME_TO   INT64_C(4102444800000) /* 2100-01-01 */

size_t
store__ids_key(const store *s, const uint8_t *event_id, bool legacy,
	       uint8_t out[STORE_IDS_KEY_MAX])
{
	if (legacy) {
		store__hash(s, TAG_IDS, event_id, STORE_EVENT_ID_LEN, NULL, 0,
			    out, STORE_IDS_LEGACY_LEN);
		return STORE_IDS_LEGACY_LEN;
	}
	uint64_t t = ug_get_be64(event_id);
	if (t < (uint64_t)IDS_TIME_FROM || t >= (uint64_t)IDS_TIME_TO) {
		store__hash(s, TAG_IDS_UNTIMED, event_id, STORE_EVENT_ID_LEN,
			    NULL, 0, out, STORE_IDS_KEY_MAX);
		return STORE_IDS_KEY_MAX;
	}
	memcpy(out, event_id, STORE_IDS_PREFIX);
	store__hash(s, TAG_IDS, event_id, STORE_EVENT_ID_LEN, NULL, 0,
		    out + STORE_IDS_PREFIX,
		    STORE_IDS_KEY_MAX - STORE_IDS_PREFIX);
	return STORE_IDS_KEY_MAX;
}

/* Open an ids value: the sequence and the agency; UG_EMALFORMED (and
 * reported) when it does not open under its key. */
static ug_err
ids_decode(store *s, const MDB_val *key, const MDB_val *val, uint64_t *seq,
	   char agency[STORE_ID_MAX])
{
	uint8_t plain[IDS_PLAIN];
	if (store__open(s, key->mv_data, key->mv_size, val->mv_data,
			val->mv_size, plain, sizeof plain) != UG_OK ||
	    val->mv_size - UG_SEAL_OVERHEAD < 9 || plain[8] >= STORE_ID_MAX ||
	    val->mv_size - UG_SEAL_OVERHEAD != 9 + (size_t)plain[8]) {
		store__forged(s, TAG_IDS, "ids");
		return UG_EMALFORMED;
	}
	*seq = ug_get_be64(plain);
	memcpy(agency, plain + 9, plain[8]);
	agency[plain[8]] = '\0';
	return UG_OK;
}

static uint64_t
meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t absent)
{
	MDB_val key = {strlen(name), (void *)name}, val;
	if (mdb_get(txn, dbi, &key, &val) == 0 && val.mv_size == 8)
		return ug_get_be64(val.mv_data);
	return absent;
}

/* Look the id up in log/ids, where stores before format 4 kept it. */
static ug_err
find_in_log(store *s, MDB_txn *ltxn, const uint8_t *event_id, uint64_t *seq,
	    char agency[STORE_ID_MAX])
{
	if (!s->ids_in_log)
		return UG_ENOTFOUND;
	uint8_t k[STORE_IDS_KEY_MAX];
	ug_err err = UG_ENOTFOUND;
	for (int legacy = 0; err == UG_ENOTFOUND && legacy <= s->ids_legacy;
	     legacy++) {
		MDB_val key = {store__ids_key(s, event_id, legacy, k), k}, val;
		int rc = mdb_get(ltxn, s->ids, &key, &val);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return store__map_err(rc, "get event id");
		/* A forged entry counts as absent, and so does one whose
		 * record is gone (purged). */
		if (ids_decode(s, &key, &val, seq, agency) == UG_OK &&
		    store__log_holds(s, ltxn, *seq, event_id, true))
			err = UG_OK;
	}
	return err;
}

ug_err
store__ids_claim(store *s, MDB_txn *itxn, MDB_txn *ltxn,
		 const uint8_t *event_id, const char *agency, uint64_t seq,
		 uint64_t *held_seq, char held[STORE_ID_MAX])
{
	ug_err err = find_in_log(s, ltxn, event_id, held_seq, held);
	if (err != UG_ENOTFOUND)
		return err == UG_OK ? UG_EEXISTS : err;
	size_t agency_len = strlen(agency);
	uint8_t k[STORE_IDS_KEY_MAX], plain[IDS_PLAIN];
	uint8_t sealed[IDS_PLAIN + UG_SEAL_OVERHEAD];
	MDB_val key = {store__ids_key(s, event_id, false, k), k};
	ug_put_be64(plain, seq);
	plain[8] = (uint8_t)agency_len;
	memcpy(plain + 9, agency, agency_len);
	store__seal(s, k, key.mv_size, plain, 9 + agency_len, sealed);
	MDB_val val = {9 + agency_len + UG_SEAL_OVERHEAD, sealed};
	int rc = mdb_put(itxn, s->ids_db, &key, &val, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		/* val now points at the stored value. */
		if (ids_decode(s, &key, &val, held_seq, held) == UG_OK &&
		    store__log_holds(s, ltxn, *held_seq, event_id, false))
			return UG_EEXISTS;
		/* A forged entry counts as absent, and so does a stale one
		 * (its record purged, or a log restored from before it):
		 * replaced by the true one. */
		val = (MDB_val){9 + agency_len + UG_SEAL_OVERHEAD, sealed};
		rc = mdb_put(itxn, s->ids_db, &key, &val, 0);
	}
	return store__env_err(rc, STORE_ENV_IDS, "put event id");
}

ug_err
store__ids_find(store *s, const uint8_t *event_id, uint64_t *seq,
		char agency[STORE_ID_MAX])
{
	/* ids/ before log/: an index never newer than the log it reads. */
	MDB_env *envs[] = {s->ids_env, s->log_env};
	MDB_txn *txns[2];
	int rc = store__begin_each(envs, txns, 2, MDB_RDONLY);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_txn *itxn = txns[0], *ltxn = txns[1];
	uint8_t k[STORE_IDS_KEY_MAX];
	MDB_val key = {store__ids_key(s, event_id, false, k), k}, val;
	ug_err err = store__env_err(mdb_get(itxn, s->ids_db, &key, &val),
				    STORE_ENV_IDS, "get event id");
	if (err == UG_OK &&
	    (ids_decode(s, &key, &val, seq, agency) != UG_OK ||
	     !store__log_holds(s, ltxn, *seq, event_id, false)))
		err = UG_ENOTFOUND;
	if (err == UG_ENOTFOUND)
		err = find_in_log(s, ltxn, event_id, seq, agency);
	/* Records the index has not seen yet: the moment between the log's
	 * commit and the index's, or an index commit that failed. Never
	 * before "ids_from": older records carry no id. */
	uint64_t from = meta_u64(itxn, s->ids_meta, "indexed_through", 0) + 1;
	uint64_t first = meta_u64(ltxn, s->log_meta, "ids_from", 1), last = 0;
	if (from < first)
		from = first;
	if (err == UG_ENOTFOUND &&
	    store__log_last_in(s, ltxn, &last) == UG_OK && last >= from)
		err = store__log_find_id(s, ltxn, from, event_id, seq, agency);
	mdb_txn_abort(ltxn);
	mdb_txn_abort(itxn);
	return err;
}

ug_err
store__ids_mark(store *s, MDB_txn *itxn, uint64_t through)
{
	uint8_t v[8];
	ug_put_be64(v, through);
	MDB_val key = {15, "indexed_through"}, val = {8, v};
	return store__env_err(mdb_put(itxn, s->ids_meta, &key, &val, 0),
			      STORE_ENV_IDS, "put indexed_through");
}

typedef struct {
	store *s;
	MDB_txn *itxn, *ltxn;
	uint64_t indexed, skipped;
} catch_up;

static ug_err
index_record(void *ctx, const store_record *rec)
{
	catch_up *c = ctx;
	if (!rec->event_id) {
		c->skipped++;
		return UG_OK;
	}
	uint64_t held_seq;
	char held[STORE_ID_MAX];
	ug_err err = store__ids_claim(c->s, c->itxn, c->ltxn, rec->event_id,
				      rec->agency, rec->seq, &held_seq, held);
	if (err == UG_EEXISTS)
		err = UG_OK; /* indexed before the crash after all */
	c->indexed += err == UG_OK;
	return err;
}

/* A STORE-IDS notice, told to the opener too (store_opts.say). */
static void
ids_notice(const store *s, const char *text)
{
	log_notice("STORE-IDS", "%s", text);
	if (s->say)
		s->say("STORE-IDS", text);
}

/* Index at most max records after "indexed_through", up to last; *done
 * when nothing is left. */
static ug_err
index_from(store *s, MDB_txn *itxn, MDB_txn *ltxn, uint64_t last, size_t max,
	   bool *done)
{
	*done = true;
	uint64_t from = meta_u64(ltxn, s->log_meta, "ids_from", 1);
	uint64_t through = meta_u64(itxn, s->ids_meta, "indexed_through", 0);
	/* An index ahead of its log (a log restored alone from an older
	 * copy): its entries past the log are stale, found so by
	 * store__log_holds; what the log appends from here is indexed. */
	if (through > last)
		return store__ids_mark(s, itxn, last);
	if (through + 1 > from)
		from = through + 1;
	/* Nothing to index (an upgraded store before its first new event):
	 * record it, so that no lookup reads the log for it. */
	if (from > last)
		return through < last ? store__ids_mark(s, itxn, last) : UG_OK;
	catch_up c = {s, itxn, ltxn, 0, 0};
	uint64_t next = from, unreadable = 0;
	bool more = false;
	ug_err err = store__log_scan_over(s, ltxn, from, max, index_record, &c,
					  &next, &unreadable, &more);
	*done = !more;
	if (err == UG_OK)
		err = store__ids_mark(s, itxn, more ? next - 1 : last);
	c.skipped += unreadable;
	if (err == UG_OK && c.indexed + c.skipped) {
		/* Said after the commit: a commit that fails (a full disk)
		 * indexed nothing. */
		char *text = s->ids_indexed;
		snprintf(text, sizeof s->ids_indexed,
			 "indexed the event ids of %llu log records that "
			 "ids/ had not seen (after a crash, a lost ids/ or a "
			 "restore)%s",
			 (unsigned long long)c.indexed,
			 c.skipped ? "; records without an id (from before "
				     "format 4, or that do not open) skipped"
				   : "");
	}
	return err;
}

void
store__ids_committed(store *s, bool committed)
{
	if (committed && s->ids_indexed[0])
		ids_notice(s, s->ids_indexed);
	s->ids_indexed[0] = '\0';
}

ug_err
store__ids_catch_up(store *s, MDB_txn *itxn, MDB_txn *ltxn, uint64_t last)
{
	bool done;
	return index_from(s, itxn, ltxn, last, SIZE_MAX, &done);
}

/* The kernel's boot id, or false when it cannot be read. */
static bool
boot_id(char out[40])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (!f)
		return false;
	bool ok = fgets(out, 40, f) != NULL;
	fclose(f);
	out[ok ? strcspn(out, "\r\n") : 0] = '\0';
	return ok && out[0];
}

static bool
boot_differs(store *s, MDB_txn *ltxn, const char *boot)
{
	MDB_val key = {7, "ids_boot"}, val;
	return mdb_get(ltxn, s->log_meta, &key, &val) != 0 ||
	       val.mv_size != strlen(boot) ||
	       memcmp(val.mv_data, boot, val.mv_size) != 0;
}

/* ids/ is committed without fsync, and LMDB says of that an OS crash "can
 * corrupt the database", not only roll it back: ext4 may write its pages
 * in any order. So the first open after the machine started again (the
 * boot id in log/meta differs) empties ids/ — truncating its files, which
 * keep their owner and mode — and records this boot, holding log/'s write
 * lock so that the first opens of a boot take their turn; no process of
 * this boot has ids/ open yet, each passed this check first. The index is
 * then rebuilt from the log as after any loss (store__ids_open). */
static ug_err
rebuild_after_boot(store *s, const char *path, const char *boot)
{
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "read ids_boot");
	bool stale = boot_differs(s, txn, boot);
	mdb_txn_abort(txn);
	if (!stale)
		return UG_OK;
	rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "check ids_boot");
	if (!boot_differs(s, txn, boot)) {
		mdb_txn_abort(txn);
		return UG_OK;
	}
	MDB_val key = {7, "ids_boot"}, val;
	if (mdb_get(txn, s->log_meta, &key, &val) == 0)
		ids_notice(s, "the machine has restarted since ids/ was last "
			      "checked: rebuilding the event-id index from "
			      "the log");
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	for (size_t i = 0; i < 2; i++) {
		char file[620];
		snprintf(file, sizeof file, "%s/%s", path, files[i]);
		int fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT) {
			log_err("STORE-IDS", "cannot empty %s: %s", file,
				strerror(errno));
			mdb_txn_abort(txn);
			return UG_EIO;
		}
		if (fd >= 0)
			close(fd);
	}
	val = (MDB_val){strlen(boot), (void *)boot};
	rc = mdb_put(txn, s->log_meta, &key, &val, 0);
	if (rc == 0)
		return store__map_err(mdb_txn_commit(txn), "record ids_boot");
	mdb_txn_abort(txn);
	return store__map_err(rc, "record ids_boot");
}

/* Records indexed per transaction when ids/ is rebuilt at open: each
 * chunk is committed, so a rebuild cut short resumes where it stopped. */
#define IDS_REBUILD_CHUNK 100000

ug_err
store__ids_open(store *s, const char *dir, size_t map_mb,
		const volatile sig_atomic_t *stop, ug_diag *diag)
{
	char path[600], boot[40];
	snprintf(path, sizeof path, "%s/ids", dir);
	ug_err err = UG_OK;
	if (boot_id(boot))
		err = rebuild_after_boot(s, path, boot);
	else
		log_warn("STORE-IDS",
			 "cannot read the kernel's boot id: ids/ is not "
			 "rebuilt after a restart of the machine (delete "
			 "data_dir/ids after an OS crash)");
	if (err == UG_OK)
		err = store__env_open_rebuilt(
		    s, &s->ids_env, path, map_mb, 2, "STORE-IDS",
		    "the event-id index is rebuilt from the log", diag);
	if (err != UG_OK)
		return err;
	MDB_txn *itxn = NULL, *ltxn = NULL;
	int rc = store__begin_write(s->ids_env, &itxn);
	if (rc == 0)
		rc = mdb_dbi_open(itxn, "ids", MDB_CREATE, &s->ids_db);
	if (rc == 0)
		rc = mdb_dbi_open(itxn, "meta", MDB_CREATE, &s->ids_meta);
	/* Committed before any indexing: handles opened in a transaction
	 * that is aborted are closed with it, so a first chunk that finds
	 * ids/ full would leave every later lookup and append failing with
	 * EINVAL rather than E_FULL. */
	if (rc == 0)
		rc = mdb_txn_commit(itxn);
	else if (itxn)
		mdb_txn_abort(itxn);
	itxn = NULL;
	err = store__env_err(rc, STORE_ENV_IDS, "open event-id index");
	bool done = false, disk_full = false;
	while (err == UG_OK && !done) {
		uint64_t last = 0;
		err = store__map_err(
		    itxn ? 0 : store__begin_write(s->ids_env, &itxn),
		    "index event ids");
		if (err == UG_OK)
			err = store__map_err(
			    store__begin_read(s->log_env, &ltxn),
			    "index event ids");
		if (err == UG_OK)
			err = store__log_last_in(s, ltxn, &last);
		if (err == UG_OK)
			err = index_from(s, itxn, ltxn, last,
					 IDS_REBUILD_CHUNK, &done);
		if (ltxn)
			mdb_txn_abort(ltxn);
		ltxn = NULL;
		if (err == UG_OK) {
			rc = mdb_txn_commit(itxn);
			store__ids_committed(s, rc == 0);
			err = store__env_err(rc, STORE_ENV_IDS,
					     "commit event ids");
			disk_full = rc == ENOSPC || rc == EDQUOT ||
				    (rc == EIO && store__disk_full(dir));
		} else {
			mdb_txn_abort(itxn);
			store__ids_committed(s, false);
		}
		itxn = NULL;
		if (stop && *stop)
			break;
	}
	if (itxn)
		mdb_txn_abort(itxn);
	if (err == UG_OK && !done)
		log_notice("STORE-IDS",
			   "indexing the event ids stopped for a stop: the "
			   "next start goes on from there");
	if (err == UG_EFULL) {
		/* A full ids/ must not keep the store from opening (hubctl
		 * stats, the operator's way to see it): the index stays behind
		 * and a lookup reads the log past it, as after a lost commit.
		 */
		log_warn("STORE-IDS",
			 "ids/ is full: the event-id index stays behind the "
			 "log (lookups read the log past it) until log_map_mb "
			 "is raised");
		err = UG_OK;
	} else if (disk_full) {
		/* The same on a full disk: hubctl stats must show the store,
		 * and hubd serve it (a resend is found in the log) rather than
		 * stop at every start until there is room. */
		log_warn("STORE-IDS",
			 "the disk under ids/ is full: the event-id index "
			 "stays behind the log (lookups read the log past it) "
			 "until there is room; free space");
		err = UG_OK;
	}
	/* What was indexed again must not need indexing again. */
	if (err == UG_OK)
		err = store__env_err(mdb_env_sync(s->ids_env, 1),
				     STORE_ENV_IDS, "sync ids");
	return err;
}

int
store__ids_delete(store *s, MDB_txn *itxn, MDB_txn *ltxn,
		  const uint8_t *event_id, uint64_t *count)
{
	uint8_t k[STORE_IDS_KEY_MAX];
	MDB_val key = {store__ids_key(s, event_id, false, k), k};
	int rc = mdb_del(itxn, s->ids_db, &key, NULL);
	if (rc == 0)
		(*count)++;
	else if (rc != MDB_NOTFOUND)
		return rc;
	for (int legacy = 0; s->ids_in_log && legacy <= s->ids_legacy;
	     legacy++) {
		key = (MDB_val){store__ids_key(s, event_id, legacy, k), k};
		rc = mdb_del(ltxn, s->ids, &key, NULL);
		if (rc == 0)
			(*count)++;
		else if (rc != MDB_NOTFOUND)
			return rc;
	}
	return 0;
}
