/*
 * The hub store: durable log in log/, rebuildable state in derived/.
 * See store.h for the contract. Nothing that says what happened to a person
 * (an event type, a rule, an agency, a recipient) is readable from the
 * files without the storage key: values are sealed, and index keys are
 * keyed hashes (H = BLAKE2b under index_key, derived from the storage key,
 * with a tag per database) except where an order must be kept. Layouts:
 *
 * log/ (synced)
 *   meta       "format" -> BE32 (STORE_LOG_FORMAT); "keycheck" -> sealed;
 *              "ids_legacy" -> 1 when upgraded from format 2 with ids;
 *              "ids_in_log" -> 1, "ids_from" -> BE64 when upgraded from
 *              format 2 or 3; "ids_boot" -> the boot id when ids/ was
 *              last checked (store_ids.c); "seq_floor" (store_lifecycle.c)
 *   log        seq BE64 -> v3 | sealed(type | received_at BE64 | agency_len
 *              | agency | 0 | flags | person_key[16] | body_len BE32 |
 *              event_id[16] | envelope | zero padding to 64 bytes)
 *              (v2, before format 4: the same without event_id)
 *   ids        before format 4 only: event_id[0..8] | H(event_id)[16] ->
 *              sealed(seq BE64 | agency) (H'(event_id)[24] when bytes 0-7
 *              are not a time; format 2: H(event_id)[16] alone)
 *   assign     H(person_key | role)[16] -> sealed(count | entries)
 *   principal, principal_id: see store_principal.c
 *   alerts, queue: see store_alerts.c
 *   audit      see store_audit.c
 * ids/ (no fsync; an index of the log, store_ids.c)
 *   ids        as log/ids above
 *   meta       "indexed_through" -> BE64
 * derived/ (no fsync): see store_derived.c
 *
 * What stays in the clear, and why: log sequences (the log is appended and
 * replayed in order), an event id's first 8 bytes when they read as a
 * time (PROTOCOL.md asks for the occurrence time there, so that the ids
 * index appends), the queue's raising sequence under a recipient hash
 * (delivery order), a timer's due time (the scheduler takes the earliest), and
 * per hashed key the number of records (a pseudonym has N events). Every
 * sealed value binds its record key as additional data (alerts also their id,
 * queue entries their recipient's hash): a value copied or moved under another
 * key does not open, is refused and reported STORE-FORGED.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store_int.h"

#define begin_write store__begin_write
#define begin_read  store__begin_read

/* 3 carries the event id, so that ids/ can be rebuilt from the log. */
#define LOG_RECORD_VERSION    3
#define LOG_RECORD_VERSION_V2 2
#define SEAL_MAX	      STORE_SEAL_MAX
/* The log/ environment's layout; a store without it, or with another, is
 * refused at open rather than misread. */
#define STORE_LOG_FORMAT 4
/* Format 2 differed in the ids keys (the hash alone), format 3 kept the
 * ids in log/ and its records without their id; such a store is upgraded
 * in place at open and its old entries stay readable. */
#define STORE_LOG_FORMAT_OLD_IDS    2
#define STORE_LOG_FORMAT_IDS_IN_LOG 3
static ug_err
open_dbs(MDB_env *env, enum store__env which, const char *const *names,
	 MDB_dbi *const *dbis, size_t n)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(env, NULL, 0, &txn);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = mdb_dbi_open(txn, names[i], MDB_CREATE, dbis[i]);
	if (rc == 0)
		return store__env_err(mdb_txn_commit(txn), which,
				      "open databases");
	mdb_txn_abort(txn);
	return store__env_err(rc, which, "open databases");
}

static ug_err
read_last_applied(store *s)
{
	MDB_txn *txn = NULL;
	int rc = begin_read(s->derived_env, &txn);
	if (rc != 0)
		return store__env_err(rc, STORE_ENV_DERIVED,
				      "read last_applied");
	MDB_val key = {12, "last_applied"}, val;
	rc = mdb_get(txn, s->meta, &key, &val);
	s->last_applied =
	    rc == 0 && val.mv_size == 8 ? ug_get_be64(val.mv_data) : 0;
	mdb_txn_abort(txn);
	return rc == 0 || rc == MDB_NOTFOUND
		   ? UG_OK
		   : store__env_err(rc, STORE_ENV_DERIVED, "last_applied");
}

static ug_err
open_derived(store *s, const char *dir, size_t map_mb, ug_diag *diag)
{
	char path[600];
	snprintf(path, sizeof path, "%s/derived", dir);
	/* No fsync on commit: everything here is rebuilt from the log, and an
	 * fsync per batch for it would halve ingest (docs/PERFORMANCE.md). */
	ug_err err = store__env_open_rebuilt(
	    s, &s->derived_env, path, map_mb, 8, "STORE-DERIVED",
	    "the derived state is rebuilt from the log", diag);
	if (err != UG_OK)
		return err;
	const char *names[] = {"meta",	"person",  "rule",
			       "timer", "palerts", "desk"};
	MDB_dbi *dbis[] = {&s->meta,  &s->person,  &s->rule,
			   &s->timer, &s->palerts, &s->desk};
	err = open_dbs(s->derived_env, STORE_ENV_DERIVED, names, dbis, 6);
	if (err == UG_OK)
		err = read_last_applied(s);
	return err;
}

static uint64_t entries(MDB_txn *txn, MDB_dbi dbi);

static const char older_hub[] =
    "this store was written by an older hub (no store format recorded) and "
    "cannot be read by this one: re-create it (see OPERATIONS.md, \"Store "
    "format\")";

static const char keycheck_plain[] = "ungebro store key check";

/* Record the log's format and a sealed check value in a new store; refuse a
 * store of another format (or from before formats were recorded), and one
 * the storage key does not open, instead of misreading it. */
/* Format 2 or 3 to 4 in place, committing txn. The event ids already
 * stored stay in log/ids, looked up there for as long as the store lives
 * ("ids_in_log"; from format 2 also under their older key, "ids_legacy";
 * both set even on an empty store, in case a hub of the old version still
 * writes to it); ids/ indexes the records from "ids_from" on, the first
 * that carry their id. */
static ug_err
upgrade_ids(store *s, MDB_txn *txn, uint32_t from)
{
	uint8_t v[4], first[8];
	uint64_t last = 0;
	ug_err err = store__log_last_in(s, txn, &last);
	ug_put_be32(v, STORE_LOG_FORMAT);
	ug_put_be64(first, last + 1);
	MDB_val fk = {6, "format"}, fv = {4, v};
	MDB_val lk = {10, "ids_legacy"}, one = {1, "\1"};
	MDB_val ik = {10, "ids_in_log"}, rk = {8, "ids_from"}, rv = {8, first};
	int rc = err == UG_OK ? mdb_put(txn, s->log_meta, &fk, &fv, 0) : -1;
	if (rc == 0 && from == STORE_LOG_FORMAT_OLD_IDS)
		rc = mdb_put(txn, s->log_meta, &lk, &one, 0);
	if (rc == 0)
		rc = mdb_put(txn, s->log_meta, &ik, &one, 0);
	if (rc == 0)
		rc = mdb_put(txn, s->log_meta, &rk, &rv, 0);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc != 0)
		return err != UG_OK
			   ? err
			   : store__map_err(rc, "upgrade store format");
	snprintf(s->upgrade_note, sizeof s->upgrade_note,
		 "store format %u upgraded to %d in place (event-id index: "
		 "new entries in ids/, the older ones stay in log/); nothing "
		 "else changed",
		 from, STORE_LOG_FORMAT);
	log_notice("STORE-UPGRADED", "%s", s->upgrade_note);
	return UG_OK;
}

static const char log_restore[] = "restore log/ from a backup (see "
				  "OPERATIONS.md, \"Backup and restore\")";

static ug_err
check_log_format(store *s, const char *dir, ug_diag *diag)
{
	MDB_txn *txn = NULL;
	int rc = begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "check store format");
	MDB_val fk = {6, "format"}, ck = {8, "keycheck"}, fv, cv;
	uint8_t plain[sizeof keycheck_plain];
	ug_err err = UG_OK;
	rc = mdb_get(txn, s->log_meta, &fk, &fv);
	if (rc == MDB_NOTFOUND) {
		if (entries(txn, s->log) || entries(txn, s->ids) ||
		    entries(txn, s->principal) || entries(txn, s->alerts)) {
			ug_diag_set(diag, "log", "%s", older_hub);
			err = UG_EMALFORMED;
			goto done;
		}
		uint8_t v[4],
		    sealed[sizeof keycheck_plain - 1 + UG_SEAL_OVERHEAD];
		ug_put_be32(v, STORE_LOG_FORMAT);
		store__seal(s, "keycheck", 8, keycheck_plain,
			    sizeof keycheck_plain - 1, sealed);
		fv = (MDB_val){4, v};
		cv = (MDB_val){sizeof sealed, sealed};
		rc = mdb_put(txn, s->log_meta, &fk, &fv, 0);
		if (rc == 0)
			rc = mdb_put(txn, s->log_meta, &ck, &cv, 0);
		if (rc == 0) {
			rc = mdb_txn_commit(txn);
			txn = NULL;
		}
		err = store__map_err(rc, "record store format");
	} else if (rc != 0) {
		err = store__map_err(rc, "read store format");
	} else if (fv.mv_size == 4 &&
		   ug_get_be32(fv.mv_data) > STORE_LOG_FORMAT) {
		ug_diag_set(diag, "log",
			    "store format %u was written by a newer hub; this "
			    "one reads formats %d to %d: run the version that "
			    "wrote it (see OPERATIONS.md, \"Store format\")",
			    ug_get_be32(fv.mv_data), STORE_LOG_FORMAT_OLD_IDS,
			    STORE_LOG_FORMAT);
		err = UG_EMALFORMED;
	} else if (fv.mv_size != 4) {
		/* No hub writes another length: a damaged value, not a
		 * format, and re-creating the store would lose it. */
		ug_diag_set(diag, "log",
			    "%s/log/data.mdb is damaged: its store format "
			    "value is %zu bytes, not 4; %s",
			    dir, fv.mv_size, log_restore);
		err = UG_EMALFORMED;
	} else if (ug_get_be32(fv.mv_data) < STORE_LOG_FORMAT_OLD_IDS) {
		ug_diag_set(diag, "log",
			    "store format %u, but this hub reads "
			    "formats %d to %d only: re-create the store (see "
			    "OPERATIONS.md, \"Store format\")",
			    ug_get_be32(fv.mv_data), STORE_LOG_FORMAT_OLD_IDS,
			    STORE_LOG_FORMAT);
		err = UG_EMALFORMED;
	} else if (mdb_get(txn, s->log_meta, &ck, &cv) != 0 ||
		   store__open(s, "keycheck", 8, cv.mv_data, cv.mv_size, plain,
			       sizeof plain - 1) != UG_OK ||
		   cv.mv_size - UG_SEAL_OVERHEAD !=
		       sizeof keycheck_plain - 1 ||
		   memcmp(plain, keycheck_plain, sizeof plain - 1) != 0) {
		ug_diag_set(diag, "storage_key",
			    "the hub's storage key does "
			    "not open this store (another hub.key_secret?)");
		err = UG_EDENIED;
	} else if (ug_get_be32(fv.mv_data) < STORE_LOG_FORMAT) {
		err = upgrade_ids(s, txn, ug_get_be32(fv.mv_data));
		txn = NULL;
	}
done:
	if (txn)
		mdb_txn_abort(txn);
	if (err == UG_OK) {
		MDB_txn *rtxn = NULL;
		MDB_val lk = {10, "ids_legacy"}, ik = {10, "ids_in_log"}, lv;
		err = store__map_err(begin_read(s->log_env, &rtxn),
				     "read store format");
		if (err == UG_OK) {
			s->ids_legacy =
			    mdb_get(rtxn, s->log_meta, &lk, &lv) == 0;
			s->ids_in_log =
			    mdb_get(rtxn, s->log_meta, &ik, &lv) == 0;
		}
		if (rtxn)
			mdb_txn_abort(rtxn);
	}
	return err;
}

/* The databases log/ holds; anything else in its main database means the
 * environment was made by another program, or is another part of a store
 * (derived/, ids/, an adapter's outbox). */
static const char *const log_dbs[] = {
    "log",   "ids",   "assign",	    "principal", "principal_id", "alerts",
    "queue", "audit", "audit_ckpt", "meta",	 "password"};
#define LOG_DBS (sizeof log_dbs / sizeof *log_dbs)

/* Decided in a read txn, before anything is created in it: opening our
 * databases in an environment the hub did not make would write to it, and
 * taking it for a new store would bury what it holds. A database we do
 * not have, a plain key, or a meta database with entries but no format
 * (ids/ has one) mean another program or another part of a store, except
 * in a newer hub's log, which may hold databases this one does not know:
 * check_log_format refuses that one by its format. Without a format, our
 * databases with records in them are a store of before formats. */
static ug_err
check_log_env(MDB_env *env, const char *file, const char *path, ug_diag *diag)
{
	MDB_txn *txn = NULL;
	MDB_dbi main_db, db;
	MDB_cursor *cur = NULL;
	MDB_val k, v, fk = {6, "format"};
	bool foreign = false, format = false, newer = false, held = false;
	int rc = store__begin_read(env, &txn);
	if (rc != 0)
		return store__map_err(rc, "check store format");
	if (mdb_dbi_open(txn, "meta", 0, &db) == 0) {
		format = mdb_get(txn, db, &fk, &v) == 0;
		newer = format && v.mv_size == 4 &&
			ug_get_be32(v.mv_data) > STORE_LOG_FORMAT;
		foreign = !format && entries(txn, db) != 0;
	}
	rc = mdb_dbi_open(txn, NULL, 0, &main_db);
	if (rc == 0)
		rc = mdb_cursor_open(txn, main_db, &cur);
	for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     rc == 0 && !newer && !foreign;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char name[16] = "";
		size_t i = LOG_DBS;
		if (k.mv_size < sizeof name) {
			memcpy(name, k.mv_data, k.mv_size);
			for (i = 0; i < LOG_DBS; i++)
				if (strcmp(name, log_dbs[i]) == 0 &&
				    strlen(name) == k.mv_size)
					break;
		}
		/* A plain key of that name is not a database: INCOMPATIBLE */
		foreign = i == LOG_DBS || mdb_dbi_open(txn, name, 0, &db) != 0;
		if (!foreign &&
		    (strcmp(name, "log") == 0 || strcmp(name, "ids") == 0 ||
		     strcmp(name, "principal") == 0 ||
		     strcmp(name, "alerts") == 0))
			held = held || entries(txn, db) != 0;
	}
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store__map_err(rc, "check store format");
	if (foreign) {
		ug_diag_set(diag, path,
			    "%s is not a hub store's log (an LMDB environment "
			    "another program made, or another part of a "
			    "store: derived/, ids/, an adapter's outbox); it "
			    "is left as it is: point data_dir at the hub's "
			    "own store, or move %s aside to start an empty "
			    "one (see OPERATIONS.md, \"Store format\")",
			    file, path);
		return UG_EMALFORMED;
	}
	if (!format && held) {
		ug_diag_set(diag, "log", "%s", older_hub);
		return UG_EMALFORMED;
	}
	return UG_OK;
}

/* log/ is the one truth, synced, and never emptied: damaged files there
 * stop the open, saying which file and what to do, before anything reads
 * a page the file lacks (SIGBUS). A data.mdb of 0 bytes, or none beside
 * derived state, would be taken by LMDB for a new environment, and the
 * store for a new, empty one that takes events a restore then loses. */
static ug_err
open_log(store *s, const char *dir, size_t map_mb, ug_diag *diag)
{
	char path[600], file[620], derived[620], why[160];
	struct stat st;
	snprintf(path, sizeof path, "%s/log", dir);
	snprintf(file, sizeof file, "%s/data.mdb", path);
	snprintf(derived, sizeof derived, "%s/derived/data.mdb", dir);
	bool there = stat(file, &st) == 0;
	bool missing = !there && errno == ENOENT;
	if (there && S_ISREG(st.st_mode) && st.st_size == 0) {
		ug_diag_set(diag, path,
			    "cannot open LMDB environment: %s is empty (0 "
			    "bytes); %s",
			    file, log_restore);
		return UG_EIO;
	}
	if (missing && stat(derived, &st) == 0 && st.st_size > 0) {
		ug_diag_set(
		    diag, path,
		    "cannot open LMDB environment: %s is missing, but "
		    "%s/derived holds a store's derived state: the log "
		    "is lost; restore the store from a backup (see "
		    "OPERATIONS.md, \"Backup and restore\"), or move "
		    "%s/derived aside to start an empty store",
		    file, dir, dir);
		return UG_EIO;
	}
	bool in_use = store__env_in_use(path);
	int rc = 0;
	ug_err err =
	    store__env_open_rc(&s->log_env, path, map_mb, 16, 0, diag, &rc);
	if (err != UG_OK) {
		if (store__env_unreadable(rc))
			ug_diag_set(diag, path,
				    "cannot open LMDB environment: %s: %s is "
				    "damaged; %s",
				    mdb_strerror(rc), file, log_restore);
		return err;
	}
	if (!in_use &&
	    store__env_whole(s->log_env, why, sizeof why) != UG_OK) {
		ug_diag_set(diag, path,
			    "cannot open LMDB environment: %s is damaged: %s; "
			    "%s",
			    file, why, log_restore);
		err = UG_EIO;
	} else {
		err = check_log_env(s->log_env, file, path, diag);
	}
	if (err == UG_OK)
		return UG_OK;
	mdb_env_close(s->log_env);
	s->log_env = NULL;
	return err;
}

/* A directory's entries made or removed must outlast a power loss. */
static void
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Whether this open makes a new store: log/ has no data file and no
 * derived state says it had one (open_log refuses that). The mark is
 * written first and kept locked while the store is made, so a second
 * process making it at once waits; one left by a process that stopped
 * while making it, locked by no one, means the files hold nothing: they
 * are taken back and the store made again. The mark's descriptor, 0 when
 * no store is made (or no mark can be), -1 when the files cannot be taken
 * back (diag says). */
static int
begin_new_store(const char *dir, ug_diag *diag)
{
	char mark[600], file[600];
	struct stat st;
	snprintf(mark, sizeof mark, "%s/" STORE_NEW_MARK, dir);
	for (int tries = 0; tries < 100; tries++) {
		int fd = open(mark, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			break;
		if (fd < 0) {
			snprintf(file, sizeof file, "%s/log/data.mdb", dir);
			bool missing = stat(file, &st) != 0 && errno == ENOENT;
			snprintf(file, sizeof file, "%s/derived/data.mdb",
				 dir);
			if (!missing ||
			    (stat(file, &st) == 0 && st.st_size > 0))
				return 0;
			fd =
			    open(mark, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				 0600);
			if (fd < 0 && errno == EEXIST)
				continue;
			if (fd < 0)
				break;
		}
		if (flock(fd, LOCK_EX) != 0) {
			close(fd);
			break;
		}
		struct stat held;
		/* Unlinked by the process that held it: that store is made. */
		if (fstat(fd, &held) != 0 || stat(mark, &st) != 0 ||
		    held.st_ino != st.st_ino || held.st_dev != st.st_dev) {
			close(fd);
			continue;
		}
		static const char *const files[] = {
		    "log/data.mdb", "log/lock.mdb",	"ids/data.mdb",
		    "ids/lock.mdb", "derived/data.mdb", "derived/lock.mdb"};
		for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
			snprintf(file, sizeof file, "%s/%s", dir, files[i]);
			if (unlink(file) != 0 && errno != ENOENT) {
				ug_diag_set(diag, "data_dir",
					    "cannot take back %s of a store "
					    "that was not finished: %s",
					    file, strerror(errno));
				close(fd);
				return -1;
			}
		}
		fsync(fd);
		sync_dir(dir);
		return fd;
	}
	/* Without a mark the store is made all the same, as before there
	 * was one; what keeps it from being made is said by open_log. */
	return 0;
}

/* The new store is made and its log synced: from now on it may hold what
 * a command stores, and a mark left behind would have it taken back. */
static void
end_new_store(const char *dir, int fd)
{
	char mark[600];
	snprintf(mark, sizeof mark, "%s/" STORE_NEW_MARK, dir);
	unlink(mark);
	sync_dir(dir);
	close(fd);
}

/* Derived state applied past the log's last sequence describes events the
 * log no longer holds (the log restored alone from an older copy). It is
 * thrown away by whichever program opens the store first, not only by
 * hubd's start: a hubctl that appended first would give the log's next
 * sequences to records derived/ counts as applied, and hubd would then
 * never apply them. last_applied is read before the log's end, so a hubd
 * applying meanwhile can only make the log look longer, never derived/
 * look ahead. */
static ug_err
drop_derived_ahead(store *s)
{
	uint64_t applied = s->last_applied, last;
	ug_err err = store_log_last(s, &last);
	if (err != UG_OK || applied <= last)
		return err;
	err = store_derived_reset(s);
	if (err == UG_OK)
		snprintf(s->ahead_note, sizeof s->ahead_note,
			 "derived state is ahead of the log (%llu > %llu)",
			 (unsigned long long)applied,
			 (unsigned long long)last);
	return err;
}

ug_err
store_open(store **out, const char *dir, const store_opts *opts, ug_diag *diag)
{
	if (!opts || !opts->storage_key)
		return UG_EINVAL;
	/* sodium_malloc below needs libsodium set up; the callers that
	 * loaded the keys have done so, this makes it hold for any. */
	if (ug_crypto_init() != UG_OK)
		return UG_EIO;
	store *s = calloc(1, sizeof *s);
	if (!s)
		return UG_ENOMEM;
	int making = 0; /* the mark's descriptor while a new store is made */
	s->storage_key = opts->storage_key;
	s->say = opts->say;
	s->index_key = sodium_malloc(UG_KEY_LEN);
	if (!s->index_key) {
		free(s);
		return UG_ENOMEM;
	}
	static const char index_label[] = "ungebro-store-index-v2";
	ug_keyed_hash(s->storage_key, index_label, sizeof index_label - 1,
		      s->index_key, UG_KEY_LEN);
	ug_err err = UG_ENOMEM;
	if (!store__scratch())
		goto fail;
	if (ug_mkdir_p(dir) != 0) {
		ug_diag_set(diag, "data_dir", "cannot create %s: %s", dir,
			    strerror(errno));
		err = UG_EIO;
		goto fail;
	}
	store__env_dir_set(dir);
	char path[600];
	snprintf(path, sizeof path, "%s/" STORE_RESTORE_MARK, dir);
	if (!opts->restoring && access(path, F_OK) == 0) {
		ug_diag_set(diag, "data_dir",
			    "a restore into %s did not finish (%s is there): "
			    "run hubctl restore again, it starts over",
			    dir, STORE_RESTORE_MARK);
		err = UG_EINVAL;
		goto fail;
	}
	making = opts->restoring ? 0 : begin_new_store(dir, diag);
	if (making < 0) {
		err = UG_EIO;
		goto fail;
	}
	err = open_log(s, dir, opts->log_map_mb ? opts->log_map_mb : 16384,
		       diag);
	if (err != UG_OK)
		goto fail;
	MDB_dbi *dbis[] = {&s->log,	  &s->ids,	    &s->assign,
			   &s->principal, &s->principal_id, &s->alerts,
			   &s->queue,	  &s->audit,	    &s->audit_ckpt,
			   &s->log_meta,  &s->password};
	err = open_dbs(s->log_env, STORE_ENV_LOG, log_dbs, dbis, LOG_DBS);
	if (err == UG_OK)
		err = check_log_format(s, dir, diag);
	if (err == UG_OK)
		err = store__ids_open(
		    s, dir, opts->log_map_mb ? opts->log_map_mb : 16384,
		    opts->stop, diag);
	if (err != UG_OK)
		goto fail;
	err = open_derived(
	    s, dir, opts->derived_map_mb ? opts->derived_map_mb : 8192, diag);
	if (err == UG_OK && s->last_applied > 0)
		err = drop_derived_ahead(s);
	if (err != UG_OK)
		goto fail;
	if (making > 0)
		end_new_store(dir, making);
	*out = s;
	return UG_OK;
fail:
	/* Left marked: the next open makes the store again. */
	if (making > 0)
		close(making);
	store_close(&s);
	return err;
}

const char *
store_derived_was_ahead(const store *s)
{
	return s->ahead_note[0] ? s->ahead_note : NULL;
}

const char *
store_upgraded(const store *s)
{
	return s->upgrade_note[0] ? s->upgrade_note : NULL;
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
	if (s->ids_env) {
		mdb_env_sync(s->ids_env, 1);
		mdb_env_close(s->ids_env);
	}
	if (s->log_env)
		mdb_env_close(s->log_env);
	/* Records a full map kept from the trail at stop: the caller has
	 * said they are lost, and nothing writes them later. */
	free(s->audit_queue);
	store__scratch_release();
	sodium_free(s->index_key);
	free(s);
	*sp = NULL;
}

void
store_maintain(store *s)
{
	/* mdb_reader_check sets its count rather than adding to it: summed
	 * here, or the slots cleared in log/ and derived/ would go unsaid. */
	int dead = 0;
	MDB_env *envs[] = {s->log_env, s->derived_env, s->ids_env};
	for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
		int n = 0;
		if (envs[i] && mdb_reader_check(envs[i], &n) == 0)
			dead += n;
	}
	if (dead)
		log_notice("STORE-READERS", "cleared %d stale reader slots",
			   dead);
}

void
store_derived_flush(store *s)
{
	/* Bounds what an OS crash can cost the derived state and the
	 * event-id index: at most the interval since the last flush is
	 * replayed (indexed) from the log. Only an fdatasync of the file for
	 * an environment without MDB_WRITEMAP: no state of the environment
	 * is touched. */
	mdb_env_sync(s->derived_env, 1);
	mdb_env_sync(s->ids_env, 1);
}

/* ---- the durable log ---- */

/* The sealed part of a log record before the envelope: type, received_at,
 * agency_len, (agency), NUL, flags, person_key, body_len, event_id (v3). */
#define LOG_FIXED_V2 (1 + 8 + 1 + 1 + 1 + UG_PERSON_KEY_LEN + 4)
#define LOG_FIXED    (LOG_FIXED_V2 + STORE_EVENT_ID_LEN)

/* Returns UG_OK with ev->status set, or an error that aborts the batch. */
static ug_err
append_one(store *s, MDB_txn *itxn, MDB_txn *txn, store_event *ev,
	   uint64_t *next_seq)
{
	size_t agency_len = strlen(ev->agency);
	if (agency_len >= STORE_ID_MAX || ev->body_len > SEAL_MAX - 256)
		return UG_EINVAL;
	uint64_t seq;
	char held[STORE_ID_MAX];
	ug_err err = store__ids_claim(s, itxn, txn, ev->event_id, ev->agency,
				      *next_seq, &seq, held);
	if (err == UG_EEXISTS) {
		ev->seq = seq;
		ev->status = strcmp(held, ev->agency) == 0 ? STORE_DUPLICATE
							   : STORE_CONFLICT;
		return UG_OK;
	}
	if (err != UG_OK)
		return err;

	uint8_t seqkey[8];
	ug_put_be64(seqkey, *next_seq);
	size_t plain_len =
	    store__padded(LOG_FIXED + agency_len + ev->body_len);
	uint8_t *plain = calloc(1, plain_len);
	if (!plain)
		return UG_ENOMEM;
	plain[0] = (uint8_t)ev->type;
	ug_put_be64(plain + 1, (uint64_t)ev->received_at);
	plain[9] = (uint8_t)agency_len;
	memcpy(plain + 10, ev->agency, agency_len); /* then a NUL */
	uint8_t *p = plain + 11 + agency_len;
	p[0] = ev->person_key != NULL;
	if (ev->person_key)
		memcpy(p + 1, ev->person_key, UG_PERSON_KEY_LEN);
	ug_put_be32(p + 1 + UG_PERSON_KEY_LEN, (uint32_t)ev->body_len);
	memcpy(p + 5 + UG_PERSON_KEY_LEN, ev->event_id, STORE_EVENT_ID_LEN);
	memcpy(p + 5 + UG_PERSON_KEY_LEN + STORE_EVENT_ID_LEN, ev->body,
	       ev->body_len);
	MDB_val key = {8, seqkey};
	MDB_val val = {1 + plain_len + UG_SEAL_OVERHEAD, NULL};
	/* MDB_RESERVE: seal straight into the page, no second copy. */
	int rc = mdb_put(txn, s->log, &key, &val, MDB_APPEND | MDB_RESERVE);
	/* A key of another length sorted after the sequences (reported
	 * STORE-FORGED log) refuses an append that is still the log's next
	 * sequence: put it in its place instead, never over a record. */
	if (rc == MDB_KEYEXIST)
		rc = mdb_put(txn, s->log, &key, &val,
			     MDB_NOOVERWRITE | MDB_RESERVE);
	if (rc != 0) {
		free(plain);
		return store__map_err(rc, "append log");
	}
	uint8_t *out = val.mv_data;
	out[0] = LOG_RECORD_VERSION;
	store__seal(s, seqkey, 8, plain, plain_len, out + 1);
	free(plain);

	ev->status = STORE_NEW;
	ev->seq = (*next_seq)++;
	if (ev->assign_caseworker && ev->person_key)
		return store__assign_put(s, txn, ev);
	return UG_OK;
}

/* The log's keys are sequences, not hashes: no tag of their own (the tag
 * is not used in the report). */
static void
foreign_log_key(store *s)
{
	store__forged(s, TAG_IDS, "log");
}

int
store__log_last_key(store *s, MDB_cursor *cur, MDB_val *key)
{
	MDB_val val;
	int rc = mdb_cursor_get(cur, key, &val, MDB_LAST);
	/* A shorter key sorts after the sequences it is a prefix of: read
	 * as one, it would hand out sequences far beyond the log's. */
	while (rc == 0 && key->mv_size != 8) {
		foreign_log_key(s);
		rc = mdb_cursor_get(cur, key, &val, MDB_PREV);
	}
	return rc;
}

ug_err
store__log_last_in(store *s, MDB_txn *txn, uint64_t *last)
{
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(txn, s->log, &cur);
	if (rc != 0)
		return store__map_err(rc, "open log cursor");
	MDB_val key;
	rc = store__log_last_key(s, cur, &key);
	*last = rc == 0 ? ug_get_be64(key.mv_data) : 0;
	mdb_cursor_close(cur);
	/* A purge or erasure that took the highest record keeps its number
	 * here (store_lifecycle.c): sequences are never handed out twice. */
	MDB_val fk = {9, "seq_floor"}, fv;
	if ((rc == 0 || rc == MDB_NOTFOUND) &&
	    mdb_get(txn, s->log_meta, &fk, &fv) == 0 && fv.mv_size == 8 &&
	    ug_get_be64(fv.mv_data) > *last)
		*last = ug_get_be64(fv.mv_data);
	return rc == 0 || rc == MDB_NOTFOUND ? UG_OK
					     : store__map_err(rc, "log last");
}

ug_err
store_append(store *s, store_event *events, size_t n)
{
	return store_append_audited(s, events, n, NULL, NULL, NULL);
}

ug_err
store_append_audited(store *s, store_event *events, size_t n,
		     store_append_audit_fn fn, void *ctx, bool *logged)
{
	if (logged)
		*logged = false;
	MDB_env *envs[] = {s->ids_env, s->log_env};
	MDB_txn *txns[2];
	int rc = store__begin_each(envs, txns, 2, 0);
	if (rc != 0)
		return store__map_err(rc, "begin append");
	MDB_txn *itxn = txns[0], *txn = txns[1];
	uint64_t last;
	/* The next sequence is read inside the write txn, not cached: hubctl
	 * appends to the same log from its own process. */
	ug_err err = store__log_last_in(s, txn, &last);
	/* What a crash or a failed commit left unindexed, before any id is
	 * looked up. */
	if (err == UG_OK)
		err = store__ids_catch_up(s, itxn, txn, last);
	uint64_t next = last + 1;
	for (size_t i = 0; err == UG_OK && i < n; i++)
		err = append_one(s, itxn, txn, &events[i], &next);
	if (err == UG_OK && next > last + 1)
		err = store__ids_mark(s, itxn, next - 1);
	/* The records of what was stored commit with it: no crash or full
	 * map keeps the one without the other. */
	store__audit_pending signed_at = {0};
	const store_audit_entry *audit = NULL;
	size_t naudit = 0;
	if (err == UG_OK && fn)
		err = fn(ctx, events, n, &audit, &naudit);
	if (err == UG_OK)
		err = store__map_err(
		    store__audit_in(s, txn, audit, naudit, &signed_at),
		    "audit append");
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		mdb_txn_abort(itxn);
		store__ids_committed(s, false);
		store__audit_done(&signed_at, false);
		return err;
	}
	rc = mdb_txn_commit(txn);
	store__audit_done(&signed_at, rc == 0);
	if (rc != 0) {
		mdb_txn_abort(itxn);
		store__ids_committed(s, false);
		return store__map_err(rc, "commit append");
	}
	store__env_wrote(STORE_ENV_LOG);
	if (logged)
		*logged = true;
	/* The events are durable; their ids become visible before the caller
	 * acks them or applies them (store_event_id_get also reads the log
	 * past the index for the moment between the two commits). Should
	 * this commit fail, the batch is answered as not stored (the caller
	 * rejects it retryable, and a resend is then DUPLICATE): an index
	 * that cannot be written stops ingest as a full log does. The next
	 * append (or open) indexes these events from the log. */
	rc = mdb_txn_commit(itxn);
	store__ids_committed(s, rc == 0);
	err = store__env_err(rc, STORE_ENV_IDS, "commit event ids");
	if (err == UG_OK)
		store__env_wrote(STORE_ENV_IDS);
	return err;
}

ug_err
store_event_id_get(store *s, const uint8_t *event_id, uint64_t *seq,
		   char agency[STORE_ID_MAX])
{
	return store__ids_find(s, event_id, seq, agency);
}

ug_err
store_log_last(store *s, uint64_t *last)
{
	MDB_txn *txn = NULL;
	int rc = begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	ug_err err = store__log_last_in(s, txn, last);
	mdb_txn_abort(txn);
	return err;
}

ug_err
store_log_end_after(store *s, uint64_t from, uint64_t *end)
{
	*end = from - 1;
	MDB_txn *txn = NULL;
	int rc = begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_cursor *cur = NULL;
	rc = mdb_cursor_open(txn, s->log, &cur);
	ug_err err = UG_OK;
	if (rc == 0) {
		uint8_t seqkey[8];
		ug_put_be64(seqkey, from);
		MDB_val key = {8, seqkey}, val;
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
		mdb_cursor_close(cur);
	}
	/* In the same read txn: a record appended after it is seen by the
	 * next scan, never taken for a gap. */
	uint64_t last = 0;
	if (rc == MDB_NOTFOUND) {
		err = store__log_last_in(s, txn, &last);
		if (err == UG_OK && last > *end)
			*end = last;
	} else if (rc != 0) {
		err = store__map_err(rc, "log end");
	}
	mdb_txn_abort(txn);
	return err;
}

static ug_err
decode_record(store *s, const MDB_val *key, const MDB_val *val,
	      store_record *rec, uint8_t *plain)
{
	const uint8_t *in = val->mv_data;
	bool with_id = val->mv_size > 0 && in[0] == LOG_RECORD_VERSION;
	size_t fixed = with_id ? LOG_FIXED : LOG_FIXED_V2;
	if (val->mv_size < 1 + UG_SEAL_OVERHEAD + fixed ||
	    (!with_id && in[0] != LOG_RECORD_VERSION_V2))
		return UG_EMALFORMED;
	ug_err err = store__open(s, key->mv_data, 8, in + 1, val->mv_size - 1,
				 plain, SEAL_MAX);
	if (err != UG_OK)
		return err;
	size_t len = val->mv_size - 1 - UG_SEAL_OVERHEAD;
	size_t agency_len = plain[9];
	if (fixed + agency_len > len || plain[10 + agency_len] != 0)
		return UG_EMALFORMED;
	const uint8_t *p = plain + 11 + agency_len;
	uint32_t body_len = ug_get_be32(p + 1 + UG_PERSON_KEY_LEN);
	if (body_len > len - fixed - agency_len)
		return UG_EMALFORMED;
	rec->seq = ug_get_be64(key->mv_data);
	rec->type = plain[0];
	rec->received_at = (int64_t)ug_get_be64(plain + 1);
	rec->agency = (const char *)plain + 10;
	rec->person_key = p[0] ? p + 1 : NULL;
	rec->event_id = with_id ? p + 5 + UG_PERSON_KEY_LEN : NULL;
	rec->body =
	    p + 5 + UG_PERSON_KEY_LEN + (with_id ? STORE_EVENT_ID_LEN : 0);
	rec->body_len = body_len;
	return UG_OK;
}

/* Open the record at key into a buffer of its own: the callers below may
 * run inside a scan, whose record lives in the thread's scratch buffer. */
static ug_err
decode_own(store *s, const MDB_val *key, const MDB_val *val, store_record *rec,
	   uint8_t **buf)
{
	*buf = malloc(val->mv_size + 64);
	if (!*buf)
		return UG_ENOMEM;
	return decode_record(s, key, val, rec, *buf);
}

bool
store__log_holds(store *s, MDB_txn *ltxn, uint64_t seq,
		 const uint8_t *event_id, bool old_ok)
{
	uint8_t k[8];
	ug_put_be64(k, seq);
	MDB_val key = {8, k}, val;
	if (mdb_get(ltxn, s->log, &key, &val) != 0)
		return false;
	store_record rec;
	uint8_t *buf = NULL;
	bool holds = decode_own(s, &key, &val, &rec, &buf) == UG_OK &&
		     (rec.event_id ? memcmp(rec.event_id, event_id,
					    STORE_EVENT_ID_LEN) == 0
				   : old_ok);
	free(buf);
	return holds;
}

typedef struct {
	const uint8_t *event_id;
	uint64_t *seq;
	char *agency;
} find_id;

static ug_err
match_id(void *ctx, const store_record *rec)
{
	find_id *f = ctx;
	if (!rec->event_id ||
	    memcmp(rec->event_id, f->event_id, STORE_EVENT_ID_LEN) != 0)
		return UG_OK;
	*f->seq = rec->seq;
	ug_strlcpy(f->agency, rec->agency, STORE_ID_MAX);
	return UG_EEXISTS; /* found: stop */
}

/* The scan. With unreadable, a record that does not open is counted
 * there and stepped over instead of ending the scan (and given to
 * unopened, when not NULL); more (may be NULL) is set when max ended it
 * before the log's end. */
static ug_err scan_into(store *s, MDB_txn *txn, uint8_t *buf, uint64_t from,
			size_t max, store_record_fn fn, store_seq_fn unopened,
			void *ctx, uint64_t *next, uint64_t *unreadable,
			bool *more, bool passing);

ug_err
store__log_find_id(store *s, MDB_txn *ltxn, uint64_t from,
		   const uint8_t *event_id, uint64_t *seq,
		   char agency[STORE_ID_MAX])
{
	/* A buffer of its own: the caller may be inside a scan. */
	uint8_t *buf = malloc(SEAL_MAX + UG_SEAL_OVERHEAD + 64);
	if (!buf)
		return UG_ENOMEM;
	find_id f = {event_id, seq, agency};
	uint64_t next, unreadable = 0;
	ug_err err = scan_into(s, ltxn, buf, from, SIZE_MAX, match_id, NULL,
			       &f, &next, &unreadable, NULL, false);
	free(buf);
	return err == UG_EEXISTS ? UG_OK : err == UG_OK ? UG_ENOTFOUND : err;
}

/* One read txn over the log. unopened, when set, is told of each record
 * that does not open and the scan goes on past it. */
static ug_err
log_scan(store *s, uint64_t from, size_t max, store_record_fn fn,
	 store_seq_fn unopened, void *ctx, uint64_t *next, bool passing)
{
	*next = from;
	uint8_t *scratch = store__scratch();
	if (!scratch)
		return UG_ENOMEM;
	MDB_txn *txn = NULL;
	int rc = begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin scan");
	uint64_t unreadable = 0;
	ug_err err =
	    scan_into(s, txn, scratch, from, max, fn, unopened, ctx, next,
		      unopened ? &unreadable : NULL, NULL, passing);
	mdb_txn_abort(txn);
	return err;
}

ug_err
store_log_scan(store *s, uint64_t from, size_t max, store_record_fn fn,
	       void *ctx, uint64_t *next)
{
	return log_scan(s, from, max, fn, NULL, ctx, next, true);
}

ug_err
store__log_read(store *s, uint64_t from, size_t max, store_record_fn fn,
		void *ctx, uint64_t *next)
{
	return log_scan(s, from, max, fn, NULL, ctx, next, false);
}

ug_err
store__log_scan_in(store *s, MDB_txn *txn, uint64_t from, size_t max,
		   store_record_fn fn, void *ctx, uint64_t *next)
{
	*next = from;
	uint8_t *scratch = store__scratch();
	if (!scratch)
		return UG_ENOMEM;
	return scan_into(s, txn, scratch, from, max, fn, NULL, ctx, next, NULL,
			 NULL, true);
}

ug_err
store_log_scan_opened(store *s, uint64_t from, size_t max, store_record_fn fn,
		      store_seq_fn unopened, void *ctx, uint64_t *next)
{
	return log_scan(s, from, max, fn, unopened, ctx, next, false);
}

ug_err
store__log_scan_over(store *s, MDB_txn *txn, uint64_t from, size_t max,
		     store_record_fn fn, void *ctx, uint64_t *next,
		     uint64_t *unreadable, bool *more)
{
	*next = from;
	uint8_t *scratch = store__scratch();
	if (!scratch)
		return UG_ENOMEM;
	return scan_into(s, txn, scratch, from, max, fn, NULL, ctx, next,
			 unreadable, more, false);
}

/* ---- log records passed over (hubctl pass-damaged) ----
 *
 * log/meta "passed" + the sequence holds the BLAKE2b hash of the record's
 * stored bytes as they were when the operator passed it over: the mark
 * covers that damaged record alone. A record that opens is never passed
 * over, whatever the mark, and a record damaged otherwise later (or
 * written again) is not covered by it. */
#define PASSED_KEY_LEN (6 + 8)

static void
passed_key(uint64_t seq, uint8_t out[PASSED_KEY_LEN])
{
	memcpy(out, "passed", 6);
	ug_put_be64(out + 6, seq);
}

static bool
passed_over(store *s, MDB_txn *txn, uint64_t seq, const MDB_val *val)
{
	uint8_t k[PASSED_KEY_LEN], h[32];
	passed_key(seq, k);
	MDB_val key = {sizeof k, k}, mark;
	if (mdb_get(txn, s->log_meta, &key, &mark) != 0 ||
	    mark.mv_size != sizeof h)
		return false;
	crypto_generichash(h, sizeof h, val->mv_data, val->mv_size, NULL, 0);
	return sodium_memcmp(h, mark.mv_data, sizeof h) == 0;
}

ug_err
store_log_pass(store *s, uint64_t seq, const store_audit_entry *audit)
{
	uint8_t *scratch = store__scratch();
	if (!scratch)
		return UG_ENOMEM;
	MDB_txn *txn = NULL;
	int rc = begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin pass");
	uint8_t seqkey[8], k[PASSED_KEY_LEN], h[32];
	ug_put_be64(seqkey, seq);
	MDB_val key = {8, seqkey}, val;
	rc = mdb_get(txn, s->log, &key, &val);
	ug_err err = rc == MDB_NOTFOUND ? UG_ENOTFOUND
					: store__map_err(rc, "read record");
	store_record rec;
	if (err == UG_OK) {
		err = decode_record(s, &key, &val, &rec, scratch);
		/* Opens: it is a record to apply, never one to pass. */
		err = err == UG_OK	     ? UG_EEXISTS
		      : err == UG_EMALFORMED ? UG_OK
					     : err;
	}
	if (err == UG_OK) {
		crypto_generichash(h, sizeof h, val.mv_data, val.mv_size, NULL,
				   0);
		passed_key(seq, k);
		MDB_val mk = {sizeof k, k}, mv = {sizeof h, h};
		err = store__map_err(mdb_put(txn, s->log_meta, &mk, &mv, 0),
				     "store pass");
	}
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return store__commit_audited(s, txn, audit, "commit pass");
}

/* A record a reader stops at is met again by each of the applier's
 * retries (twice a second), the purge and the ops check, for as long as
 * it is not passed over: said once a minute, as STORE-FORGED is, not
 * hundreds of thousands of times a day. */
static bool
seal_stop_said(store *s, uint64_t bad)
{
	int64_t now = ug_mono_ms();
	if (s->seal_stop_seq == bad && now - s->seal_stop_at < 60000)
		return true;
	s->seal_stop_seq = bad;
	s->seal_stop_at = now;
	return false;
}

static ug_err
scan_into(store *s, MDB_txn *txn, uint8_t *scratch, uint64_t from, size_t max,
	  store_record_fn fn, store_seq_fn unopened, void *ctx, uint64_t *next,
	  uint64_t *unreadable, bool *more, bool passing)
{
	*next = from;
	if (more)
		*more = false;
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(txn, s->log, &cur);
	if (rc != 0)
		return store__map_err(rc, "open scan cursor");
	uint8_t seqkey[8];
	ug_put_be64(seqkey, from);
	MDB_val key = {8, seqkey}, val;
	ug_err err = UG_OK;
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	size_t visited = 0;
	while (rc == 0 && visited < max && err == UG_OK) {
		/* A key of another length is no sequence the hub wrote (an
		 * mdb_load): read as one it would be a copy of the record
		 * its first 8 bytes name, or a sequence made of the bytes
		 * after it. Passed over, reported, not counted. */
		if (key.mv_size != 8) {
			foreign_log_key(s);
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
			continue;
		}
		visited++;
		store_record rec;
		err = decode_record(s, &key, &val, &rec, scratch);
		if (err == UG_EMALFORMED) {
			/* A record that fails to open means the storage key is
			 * wrong or the file was altered: stop, never guess —
			 * unless the caller only looks for what it can read.
			 */
			uint64_t bad = ug_get_be64(key.mv_data);
			bool passed = passing && !unreadable &&
				      passed_over(s, txn, bad, &val);
			if (passed || unreadable || !seal_stop_said(s, bad))
				log_err("STORE-SEAL",
					"log record %llu does not open "
					"with the storage key%s",
					(unsigned long long)bad,
					passed ? "; passed over (hubctl "
						 "pass-damaged, audited)"
					       : "");
			if (passed) {
				*next = bad + 1;
				err = UG_OK;
			} else if (!unreadable) {
				/* The caller learns where it stopped. */
				*next = bad;
				break;
			} else {
				(*unreadable)++;
				*next = bad + 1;
				err = unopened ? unopened(ctx, bad) : UG_OK;
			}
		} else if (err == UG_OK) {
			err = fn(ctx, &rec);
			if (err == UG_OK)
				*next = rec.seq + 1;
		}
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
		if (more && rc == 0 && err == UG_OK && visited == max)
			*more = true;
	}
	mdb_cursor_close(cur);
	if (err == UG_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = store__map_err(rc, "scan log");
	return err;
}

/* ---- statistics ---- */

static uint64_t
entries(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_stat st;
	return mdb_stat(txn, dbi, &st) == 0 ? st.ms_entries : 0;
}

static void
env_bytes(MDB_env *env, uint64_t *used, uint64_t *map, uint64_t *readers,
	  uint64_t *max_readers)
{
	MDB_envinfo info;
	MDB_stat st;
	mdb_env_info(env, &info);
	mdb_env_stat(env, &st);
	*used = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
	*map = info.me_mapsize;
	*readers = info.me_numreaders;
	*max_readers = info.me_maxreaders;
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
	out->event_ids = s->ids_in_log ? entries(txn, s->ids) : 0;
	out->assignments = entries(txn, s->assign);
	out->principals = entries(txn, s->principal);
	out->alerts = entries(txn, s->alerts);
	out->alerts_open = entries(txn, s->queue);
	out->audit_records = entries(txn, s->audit);
	ug_err err = store__log_last_in(s, txn, &out->last_seq);
	mdb_txn_abort(txn);
	rc = begin_read(s->derived_env, &txn);
	if (rc != 0)
		return store__env_err(rc, STORE_ENV_DERIVED, "begin stats");
	out->person_index_entries = entries(txn, s->person);
	out->timers = entries(txn, s->timer);
	mdb_txn_abort(txn);
	rc = begin_read(s->ids_env, &txn);
	if (rc != 0)
		return store__env_err(rc, STORE_ENV_IDS, "begin stats");
	out->event_ids += entries(txn, s->ids_db);
	mdb_txn_abort(txn);
	read_last_applied(s);
	out->last_applied = s->last_applied;
	env_bytes(s->log_env, &out->log_bytes, &out->log_map_bytes,
		  &out->log_readers, &out->log_max_readers);
	env_bytes(s->derived_env, &out->derived_bytes, &out->derived_map_bytes,
		  &out->derived_readers, &out->derived_max_readers);
	env_bytes(s->ids_env, &out->ids_bytes, &out->ids_map_bytes,
		  &out->ids_readers, &out->ids_max_readers);
	out->log_map_refused = store__map_refused(STORE_ENV_LOG);
	out->derived_map_refused = store__map_refused(STORE_ENV_DERIVED);
	out->ids_map_refused = store__map_refused(STORE_ENV_IDS);
	return err;
}
