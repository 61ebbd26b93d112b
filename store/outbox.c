/*
 * Outbox on LMDB; see outbox.h. Four databases:
 *   pending  event_id[16] -> queued_at BE64 | sealed(frame)
 *            (the id is the sealing's additional data)
 *   sent     event_id[16] -> ""
 *   latest   key_hash[16] -> content_id[16] | event_id[16]
 *   undo     event_id[16] -> key_hash[16] | had[1] | previous latest[32]
 *            (for a pending event with a key: what to put back in
 *            latest if the hub refuses it for good, and so the event it
 *            supersedes; dropped on any final answer)
 *   order    seq BE64 -> event_id[16]   (the queue, in the order put)
 *   seqof    event_id[16] -> seq BE64   (to take an id out of it)
 *   stage    "first" -> seq BE64   (the open stage, if any: the queue
 *            from that position on is held back; outbox.h, staging)
 * None of them holds personal data in the clear: frames are sealed, and
 * the key hashes are keyed with the agency's hash_key.
 */
#include "store/outbox.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/util.h"
#include "store/store_int.h"

/* What a stored record may hold: more than outbox_put queues, so a
 * record from an outbox that once took larger frames still opens (the
 * sender then drops it, unsent). */
#define RECORD_FRAME_MAX (128 * 1024)
#define LATEST_LEN	 (2 * OUTBOX_ID_LEN)
#define UNDO_LEN	 (OUTBOX_KEY_LEN + 1 + LATEST_LEN)

struct outbox {
	MDB_env *env;
	MDB_dbi pending, sent, latest, undo, order, seqof, stage, origin;
	uint64_t last_seq;    /* the highest seq in order */
	bool staging;	      /* between stage_begin and commit/abort */
	uint64_t stage_first; /* the stage's first seq on disk; 0: the
				 stage has queued nothing yet */
	const uint8_t *storage_key;
	uint8_t *scratch;
	int lock_fd;
	/* OUTBOX/origins: each pending event's origin, appended, sealed;
	 * the origin table holds its offset. Kept out of LMDB: rows of an
	 * export can be long, and LMDB pages all over the map would be
	 * mapped into the process for them. Emptied with the queue. */
	int origins_fd;
	uint64_t origins_end;
	unsigned commits; /* since the last trim */
	void *map;	  /* where LMDB mapped data.mdb, if found */
	size_t map_len;
};

/* Transactions (writes, and queue scans) between two trims of the
 * mapped pages. A random
 * index write (latest, undo) maps whole page-cache folios, so a few
 * transactions are enough to map most of the file again: trim after each
 * (it cost no measurable time importing 100,000 events). */
#define TRIM_EVERY 1

/*
 * LMDB reads through a shared, read-only map of the outbox file. Every
 * page a transaction touches stays mapped, so a long import (100,000
 * events) would count the whole outbox in the adapter's resident set,
 * though it is only page cache the kernel can drop at will. Between
 * transactions, and only then (no LMDB pointer into the map is alive),
 * tell the kernel we do not need the mapped pages: they stay in the page
 * cache, the next access maps them again, and the resident set shows
 * what the adapter really holds.
 */
static void
trim_map(outbox *ob)
{
	if (!ob->map || ++ob->commits < TRIM_EVERY)
		return;
	ob->commits = 0;
	MDB_envinfo info;
	MDB_stat st;
	if (mdb_env_info(ob->env, &info) != 0 ||
	    mdb_env_stat(ob->env, &st) != 0)
		return;
	size_t used = ((size_t)info.me_last_pgno + 1) * st.ms_psize;
	madvise(ob->map, used < ob->map_len ? used : ob->map_len,
		MADV_DONTNEED);
}

/* LMDB does not say where it mapped the file (mdb_env_info's address is
 * only set with MDB_FIXEDMAP); /proc/self/maps does, by inode. Not
 * found (not Linux, say): no trimming, nothing else changes. */
static void
find_map(outbox *ob)
{
	int fd;
	struct stat st;
	if (mdb_env_get_fd(ob->env, &fd) != 0 || fstat(fd, &st) != 0)
		return;
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		unsigned long start, end, inode;
		unsigned major, minor;
		if (sscanf(line, "%lx-%lx %*s %*s %x:%x %lu", &start, &end,
			   &major, &minor, &inode) != 5)
			continue;
		if (inode == (unsigned long)st.st_ino &&
		    makedev(major, minor) == st.st_dev && end > start) {
			ob->map = (void *)start;
			ob->map_len = end - start;
			break;
		}
	}
	fclose(f);
}

/* One process per outbox (outbox.h). flock, not fcntl: it belongs to the
 * open file, so a process that is killed lets go at once, and LMDB's own
 * fcntl locks on lock.mdb are not disturbed. */
static ug_err
take_lock(outbox *ob, const char *dir, ug_diag *diag)
{
	char path[4096];
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		ug_diag_set(diag, dir, "cannot create: %s", strerror(errno));
		return UG_EIO;
	}
	snprintf(path, sizeof path, "%s/adapter.lock", dir);
	ob->lock_fd =
	    open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (ob->lock_fd < 0) {
		ug_diag_set(diag, dir, "cannot open %s: %s", path,
			    strerror(errno));
		return UG_EIO;
	}
	if (flock(ob->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		bool busy = errno == EWOULDBLOCK;
		ug_diag_set(diag, dir,
			    busy ? "another adapter process is using the "
				   "outbox %s; run one at a time"
				 : "cannot lock the outbox %s",
			    dir);
		return busy ? UG_EAGAIN : UG_EIO;
	}
	return UG_OK;
}

/* The queue's last seq; an outbox from before the queue (pending ids
 * with no seq) gets them now, in id order, which was its send order. */
static int
load_order(outbox *ob, MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = mdb_cursor_open(txn, ob->order, &cur);
	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	ob->last_seq =
	    rc == 0 && key.mv_size == 8 ? ug_get_be64(key.mv_data) : 0;
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;
	rc = mdb_cursor_open(txn, ob->pending, &cur);
	for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
		rc = mdb_cursor_get(cur, &key, &val, (MDB_cursor_op)op);
		if (rc != 0)
			break;
		uint8_t seq[8];
		ug_put_be64(seq, ++ob->last_seq);
		MDB_val sk = {8, seq}, id = {OUTBOX_ID_LEN, key.mv_data};
		uint8_t idcopy[OUTBOX_ID_LEN];
		memcpy(idcopy, key.mv_data, OUTBOX_ID_LEN);
		id.mv_data = idcopy;
		rc = mdb_put(txn, ob->order, &sk, &id, MDB_APPEND);
		if (rc == 0)
			rc = mdb_put(txn, ob->seqof, &id, &sk, 0);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	mdb_cursor_close(cur);
	return rc;
}

/* store__map_err names the hub's map settings for a full map; the
 * outbox has none to raise: what frees it is delivering what it holds. */
static ug_err
outbox_err(const outbox *ob, int rc, const char *what)
{
	if (rc != MDB_MAP_FULL)
		return store__env_err(rc, STORE_ENV_OUTBOX, what);
	MDB_envinfo info;
	size_t mb = ob && ob->env && mdb_env_info(ob->env, &info) == 0
			? info.me_mapsize >> 20
			: 0;
	log_err("OUTBOX-FULL",
		"%s: the outbox is full (its %zu MB hold events the hub has "
		"not acknowledged): nothing more is queued until they are "
		"delivered; run flush with the hub reachable, then import "
		"again",
		what, mb);
	return UG_EFULL;
}

bool
outbox_disk_full(outbox *ob, unsigned long long *free_kib, const char **dir)
{
	struct statvfs fs;
	if (!ob || mdb_env_get_path(ob->env, dir) != 0 ||
	    !store__disk_full(*dir) || statvfs(*dir, &fs) != 0)
		return false;
	*free_kib = (unsigned long long)fs.f_bavail * fs.f_frsize / 1024;
	return true;
}

/* A stage left open on disk: the process that opened it died. */
static int
load_stage(outbox *ob, MDB_txn *txn)
{
	MDB_val key = {5, "first"}, val;
	int rc = mdb_get(txn, ob->stage, &key, &val);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc == 0 && val.mv_size == 8) {
		ob->staging = true;
		ob->stage_first = ug_get_be64(val.mv_data);
	}
	return rc;
}

/* Append id to the queue. */
static int
enqueue(outbox *ob, MDB_txn *txn, const uint8_t *id)
{
	uint8_t seq[8];
	ug_put_be64(seq, ob->last_seq + 1);
	MDB_val sk = {8, seq}, iv = {OUTBOX_ID_LEN, (void *)id};
	int rc = mdb_put(txn, ob->order, &sk, &iv, MDB_APPEND);
	if (rc == 0)
		rc = mdb_put(txn, ob->seqof, &iv, &sk, 0);
	if (rc == 0)
		ob->last_seq++;
	return rc;
}

/* Where the event came from, sealed as the frame is (it holds the row,
 * so a CPR) with its id, appended to OUTBOX/origins; its offset goes in
 * the origin table under its queue position, so a transaction adds and
 * (acks come mostly in queue order) removes a few entries side by side.
 * A record a crash left unwritten does not open (outbox_origin says
 * so, and the event is named by its id). */
static int
put_origin(outbox *ob, MDB_txn *txn, const outbox_item *it)
{
	if (ob->origins_fd < 0)
		return 0;
	size_t sealed = it->origin_len + UG_SEAL_OVERHEAD;
	uint8_t head[4];
	ug_put_be32(head, (uint32_t)sealed);
	ug_seal(ob->storage_key, it->id, OUTBOX_ID_LEN, it->origin,
		it->origin_len, ob->scratch);
	if (pwrite(ob->origins_fd, head, 4, (off_t)ob->origins_end) != 4 ||
	    pwrite(ob->origins_fd, ob->scratch, sealed,
		   (off_t)ob->origins_end + 4) != (ssize_t)sealed)
		return 0; /* no origin: the event is queued all the same */
	uint8_t seq[8], at[8];
	ug_put_be64(seq, ob->last_seq);
	ug_put_be64(at, ob->origins_end);
	MDB_val key = {8, seq}, val = {8, at};
	int rc = mdb_put(txn, ob->origin, &key, &val, MDB_APPEND);
	if (rc == 0)
		ob->origins_end += 4 + sealed;
	return rc;
}

static int
drop_origin(outbox *ob, MDB_txn *txn, const uint8_t seq[8])
{
	MDB_val key = {8, (void *)seq};
	int rc = mdb_del(txn, ob->origin, &key, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Nothing pending, so no origin is referred to: start the file again. */
static void
empty_origins(outbox *ob)
{
	if (ob->origins_fd >= 0 && ob->origins_end > 0 &&
	    ftruncate(ob->origins_fd, 0) == 0)
		ob->origins_end = 0;
}

ug_err
outbox_origin(outbox *ob, const uint8_t id[OUTBOX_ID_LEN], uint8_t *out,
	      size_t cap, size_t *len)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return outbox_err(ob, rc, "outbox origin");
	MDB_val ik = {OUTBOX_ID_LEN, (void *)id}, key, val;
	uint64_t at = 0;
	rc = mdb_get(txn, ob->seqof, &ik, &key);
	if (rc == 0 && key.mv_size == 8)
		rc = mdb_get(txn, ob->origin, &key, &val);
	else if (rc == 0)
		rc = MDB_NOTFOUND;
	if (rc == 0 && val.mv_size == 8)
		at = ug_get_be64(val.mv_data);
	else if (rc == 0)
		rc = MDB_NOTFOUND;
	mdb_txn_abort(txn);
	trim_map(ob);
	if (ob->origins_fd < 0)
		return UG_ECLOSED;
	if (rc == MDB_NOTFOUND)
		return UG_ENOTFOUND;
	if (rc != 0)
		return outbox_err(ob, rc, "outbox origin");
	uint8_t head[4];
	if (pread(ob->origins_fd, head, 4, (off_t)at) != 4)
		return UG_EMALFORMED;
	size_t sealed = ug_get_be32(head);
	if (sealed < UG_SEAL_OVERHEAD || sealed - UG_SEAL_OVERHEAD > cap ||
	    sealed > RECORD_FRAME_MAX + UG_SEAL_OVERHEAD ||
	    pread(ob->origins_fd, ob->scratch, sealed, (off_t)at + 4) !=
		(ssize_t)sealed ||
	    ug_seal_open(ob->storage_key, id, OUTBOX_ID_LEN, ob->scratch,
			 sealed, out) != UG_OK)
		return UG_EMALFORMED;
	*len = sealed - UG_SEAL_OVERHEAD;
	return UG_OK;
}

/* Take id out of the queue (nothing if it is not in it). */
static int
dequeue(outbox *ob, MDB_txn *txn, const uint8_t *id)
{
	MDB_val iv = {OUTBOX_ID_LEN, (void *)id}, sk;
	int rc = mdb_get(txn, ob->seqof, &iv, &sk);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	uint8_t seq[8];
	memcpy(seq, sk.mv_data, sk.mv_size == 8 ? 8 : 0);
	MDB_val key = {8, seq};
	rc = sk.mv_size == 8 ? mdb_del(txn, ob->order, &key, NULL) : 0;
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc == 0 && sk.mv_size == 8)
		rc = drop_origin(ob, txn, seq);
	if (rc == 0)
		rc = mdb_del(txn, ob->seqof, &iv, NULL);
	return rc;
}

/* A new outbox is marked (outbox.new) until its first commit is synced:
 * an adapter killed while LMDB made it (a power loss on the first run)
 * leaves a data.mdb of 0 bytes that holds nothing, and open_env would
 * refuse it as a lost outbox for good. A mark left behind has the files
 * taken back and the outbox made again; adapter.lock, held, keeps any
 * other process off it meanwhile. 1 when this open makes the outbox. */
static int
begin_new(const char *dir, ug_diag *diag)
{
	char mark[600], file[600];
	struct stat st;
	snprintf(mark, sizeof mark, "%s/outbox.new", dir);
	snprintf(file, sizeof file, "%s/data.mdb", dir);
	if (access(mark, F_OK) == 0) {
		static const char *const files[] = {"data.mdb", "lock.mdb"};
		for (size_t i = 0; i < 2; i++) {
			snprintf(file, sizeof file, "%s/%s", dir, files[i]);
			if (unlink(file) != 0 && errno != ENOENT) {
				ug_diag_set(diag, dir,
					    "cannot take back %s of an outbox "
					    "that was not finished: %s",
					    file, strerror(errno));
				return -1;
			}
		}
	} else if (stat(file, &st) == 0 || errno != ENOENT) {
		return 0;
	} else {
		int fd = open(mark, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return 0; /* made unmarked; open_env says what fails */
		fsync(fd);
		close(fd);
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 1;
}

/* The new outbox's first commit is synced: from now on it may hold what
 * an import queues, and a mark left behind would have it taken back. */
static void
end_new(const char *dir)
{
	char mark[600];
	snprintf(mark, sizeof mark, "%s/outbox.new", dir);
	unlink(mark);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

/* The outbox holds events no export may give again: a data file of 0
 * bytes (LMDB would make a new, empty outbox of it) or cut short (reading
 * its missing end would kill the adapter with SIGBUS) stops the open,
 * saying which file and what to do. The lock taken first keeps every
 * other adapter off it. */
static ug_err
open_env(outbox *ob, const char *dir, size_t map_mb, ug_diag *diag)
{
	static const char redo[] =
	    "move the outbox aside and import the agency's exports again "
	    "(ADAPTERS.md, \"A damaged outbox\")";
	char file[600], why[160];
	struct stat st;
	snprintf(file, sizeof file, "%s/data.mdb", dir);
	if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
		ug_diag_set(diag, dir, "%s is empty (0 bytes); %s", file,
			    redo);
		return UG_EIO;
	}
	ug_err err = store__env_open(&ob->env, dir, map_mb ? map_mb : 4096, 8,
				     MDB_NORDAHEAD, diag);
	if (err != UG_OK ||
	    store__env_whole(ob->env, why, sizeof why) == UG_OK)
		return err;
	ug_diag_set(diag, dir, "%s is damaged: %s; %s", file, why, redo);
	return UG_EIO;
}

static long open_record(outbox *ob, const uint8_t *id, const MDB_val *val);

/* Every pending record is sealed with one storage key. A key file whose
 * storage_key is another one (replaced whole by a new keygen's) must stop
 * the adapter before it queues anything: events sealed with that key
 * would not open with the right one once it is put back, and the outbox
 * would be stuck for good. One record tells. */
static ug_err
check_seal(outbox *ob, const char *dir, ug_diag *diag)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	int rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0)
		rc = mdb_cursor_open(txn, ob->pending, &cur);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	bool sealed_here =
	    rc != 0 || (key.mv_size == OUTBOX_ID_LEN &&
			open_record(ob, key.mv_data, &val) >= 0);
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		ug_diag_set(diag, dir, "cannot read the outbox: %s",
			    mdb_strerror(rc));
		return outbox_err(ob, rc, "open outbox");
	}
	if (sealed_here)
		return UG_OK;
	ug_diag_set(diag, dir,
		    "%s was sealed with another storage_key than the one in "
		    "the agency's key file (OUTBOX-SEAL): nothing was read or "
		    "queued; put back the key file whose storage_key and "
		    "hash_key sealed it (a new key pair changes only public "
		    "and secret: ADAPTERS.md, \"Replacing the adapter's "
		    "key\"); the outbox keeps its events",
		    dir);
	return UG_EDENIED;
}

static void
open_origins(outbox *ob, const char *dir)
{
	char path[600];
	struct stat st;
	size_t pending = 0, sent = 0;
	snprintf(path, sizeof path, "%s/origins", dir);
	ob->origins_fd =
	    open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (ob->origins_fd < 0 || fstat(ob->origins_fd, &st) != 0) {
		log_warn("OUTBOX-ORIGINS",
			 "cannot open %s: %s; a row the hub refuses is named "
			 "by its event's id only",
			 path, strerror(errno));
		if (ob->origins_fd >= 0)
			close(ob->origins_fd);
		ob->origins_fd = -1;
		return;
	}
	ob->origins_end = (uint64_t)st.st_size;
	if (outbox_counts(ob, &pending, &sent) == UG_OK && pending == 0)
		empty_origins(ob);
}

ug_err
outbox_open(outbox **out, const char *dir, const uint8_t *storage_key,
	    size_t map_mb, ug_diag *diag)
{
	outbox *ob = calloc(1, sizeof *ob);
	if (!ob)
		return UG_ENOMEM;
	ob->storage_key = storage_key;
	ob->lock_fd = -1;
	ob->origins_fd = -1;
	ob->scratch = malloc(RECORD_FRAME_MAX + UG_SEAL_OVERHEAD);
	ug_err err = ob->scratch ? UG_OK : UG_ENOMEM;
	if (err == UG_OK)
		err = take_lock(ob, dir, diag);
	int making = 0;
	if (err == UG_OK && (making = begin_new(dir, diag)) < 0)
		err = UG_EIO;
	if (err == UG_OK)
		err = open_env(ob, dir, map_mb, diag);
	if (err != UG_OK) {
		outbox_close(&ob);
		return err;
	}
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(ob->env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "pending", MDB_CREATE, &ob->pending);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "sent", MDB_CREATE, &ob->sent);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "latest", MDB_CREATE, &ob->latest);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "undo", MDB_CREATE, &ob->undo);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "order", MDB_CREATE, &ob->order);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "seqof", MDB_CREATE, &ob->seqof);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "stage", MDB_CREATE, &ob->stage);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "origin", MDB_CREATE, &ob->origin);
	if (rc == 0)
		rc = load_order(ob, txn);
	if (rc == 0)
		rc = load_stage(ob, txn);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc != 0) {
		ug_diag_set(diag, dir, "cannot open outbox: %s",
			    mdb_strerror(rc));
		/* Before the close: a full map's message gives its size. */
		err = outbox_err(ob, rc, "open outbox");
		outbox_close(&ob);
		return err;
	}
	if (making)
		end_new(dir);
	find_map(ob);
	err = check_seal(ob, dir, diag);
	if (err != UG_OK) {
		outbox_close(&ob);
		return err;
	}
	if (ob->staging) {
		/* A process died with a file half imported: nothing of it
		 * may be sent (outbox.h, staging). */
		size_t removed = 0;
		err = outbox_stage_abort(ob, &removed);
		if (err != UG_OK) {
			/* LMDB reports a short write as EIO: say when it is
			 * the disk, which the operator can act on. */
			bool full = store__disk_full(dir);
			ug_diag_set(diag, dir,
				    "cannot take an unfinished import out of "
				    "the outbox: %s%s; nothing is sent until "
				    "it is",
				    ug_strerror(err),
				    full ? " (the disk is full: free space "
					   "there, then run again)"
					 : "");
			outbox_close(&ob);
			return err;
		}
		log_notice("OUTBOX-STAGE",
			   "took %zu events of an import that did not finish "
			   "out of the outbox; import that file again",
			   removed);
	}
	open_origins(ob, dir);
	*out = ob;
	return UG_OK;
}

void
outbox_close(outbox **obp)
{
	if (!obp || !*obp)
		return;
	if ((*obp)->env)
		mdb_env_close((*obp)->env);
	if ((*obp)->lock_fd >= 0)
		close((*obp)->lock_fd);
	if ((*obp)->origins_fd >= 0)
		close((*obp)->origins_fd);
	free((*obp)->scratch);
	free(*obp);
	*obp = NULL;
}

/* latest[key] = (content, id), remembering what it was in undo[id]. */
static int
set_latest(outbox *ob, MDB_txn *txn, const outbox_item *it)
{
	uint8_t undo[UNDO_LEN] = {0}, latest[LATEST_LEN];
	MDB_val key = {OUTBOX_KEY_LEN, (void *)it->key}, val;
	int rc = mdb_get(txn, ob->latest, &key, &val);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	memcpy(undo, it->key, OUTBOX_KEY_LEN);
	if (rc == 0 && val.mv_size == LATEST_LEN) {
		undo[OUTBOX_KEY_LEN] = 1;
		memcpy(undo + OUTBOX_KEY_LEN + 1, val.mv_data, LATEST_LEN);
	}
	MDB_val id = {OUTBOX_ID_LEN, (void *)it->id};
	MDB_val uv = {sizeof undo, undo};
	rc = mdb_put(txn, ob->undo, &id, &uv, 0);
	memcpy(latest, it->content ? it->content : it->id, OUTBOX_ID_LEN);
	memcpy(latest + OUTBOX_ID_LEN, it->id, OUTBOX_ID_LEN);
	MDB_val lv = {sizeof latest, latest};
	if (rc == 0)
		rc = mdb_put(txn, ob->latest, &key, &lv, 0);
	return rc;
}

/* A final answer for id: forget its undo record, and if the hub refused
 * it for good and it is still the latest for its key, put back the
 * latest before it. */
static int
settle_latest(outbox *ob, MDB_txn *txn, const uint8_t *id, bool rejected)
{
	MDB_val key = {OUTBOX_ID_LEN, (void *)id}, val;
	int rc = mdb_get(txn, ob->undo, &key, &val);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	uint8_t undo[UNDO_LEN];
	if (val.mv_size != UNDO_LEN)
		return mdb_del(txn, ob->undo, &key, NULL);
	memcpy(undo, val.mv_data, UNDO_LEN);
	rc = mdb_del(txn, ob->undo, &key, NULL);
	if (rc != 0 || !rejected)
		return rc;
	MDB_val lk = {OUTBOX_KEY_LEN, undo}, lv;
	rc = mdb_get(txn, ob->latest, &lk, &lv);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0 || lv.mv_size != LATEST_LEN ||
	    memcmp((uint8_t *)lv.mv_data + OUTBOX_ID_LEN, id, OUTBOX_ID_LEN))
		return rc;
	if (!undo[OUTBOX_KEY_LEN])
		return mdb_del(txn, ob->latest, &lk, NULL);
	MDB_val prev = {LATEST_LEN, undo + OUTBOX_KEY_LEN + 1};
	return mdb_put(txn, ob->latest, &lk, &prev, 0);
}

/* The stage's first event is about to be queued: say on disk where the
 * stage starts, in the same transaction, so a crash leaves either
 * nothing of it or the mark to take it out by. */
static int
mark_stage(outbox *ob, MDB_txn *txn, uint64_t *first)
{
	if (!ob->staging || ob->stage_first || *first)
		return 0;
	uint8_t seq[8];
	*first = ob->last_seq + 1;
	ug_put_be64(seq, *first);
	MDB_val key = {5, "first"}, val = {8, seq};
	return mdb_put(txn, ob->stage, &key, &val, 0);
}

ug_err
outbox_put(outbox *ob, outbox_item *items, size_t n, int64_t queued_at)
{
	uint64_t last_seq = ob->last_seq, first = 0;
	uint64_t origins_end = ob->origins_end;
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(ob->env, NULL, 0, &txn);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		outbox_item *it = &items[i];
		it->added = OUTBOX_SENT;
		if (it->len > OUTBOX_FRAME_MAX) {
			it->added = OUTBOX_TOO_LARGE;
			continue;
		}
		MDB_val key = {OUTBOX_ID_LEN, (void *)it->id}, val;
		rc = mdb_get(txn, ob->sent, &key, &val);
		if (rc == 0)
			continue;
		if (rc != MDB_NOTFOUND)
			break;
		val.mv_size = 8 + it->len + UG_SEAL_OVERHEAD;
		rc = mdb_put(txn, ob->pending, &key, &val,
			     MDB_NOOVERWRITE | MDB_RESERVE);
		if (rc == MDB_KEYEXIST) {
			/* val now holds the stored record. */
			it->added = OUTBOX_PENDING;
			it->queued_at = val.mv_size >= 8
					    ? (int64_t)ug_get_be64(val.mv_data)
					    : 0;
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		ug_put_be64(val.mv_data, (uint64_t)queued_at);
		ug_seal(ob->storage_key, it->id, OUTBOX_ID_LEN, it->frame,
			it->len, (uint8_t *)val.mv_data + 8);
		it->added = OUTBOX_ADDED;
		rc = mark_stage(ob, txn, &first);
		if (rc == 0)
			rc = enqueue(ob, txn, it->id);
		if (rc == 0 && it->origin &&
		    it->origin_len <= RECORD_FRAME_MAX)
			rc = put_origin(ob, txn, it);
		if (rc == 0 && it->key)
			rc = set_latest(ob, txn, it);
	}
	if (rc != 0) {
		ob->last_seq = last_seq; /* moved in this txn only */
		ob->origins_end = origins_end;
		mdb_txn_abort(txn);
		return outbox_err(ob, rc, "outbox put");
	}
	rc = mdb_txn_commit(txn);
	if (rc != 0) {
		ob->last_seq = last_seq;
		ob->origins_end = origins_end;
	} else if (first)
		ob->stage_first = first;
	trim_map(ob);
	return outbox_err(ob, rc, "outbox commit");
}

ug_err
outbox_scan(outbox *ob, const uint8_t *after, size_t max, outbox_fn fn,
	    void *ctx)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return outbox_err(ob, rc, "outbox scan");
	MDB_cursor *cur = NULL;
	rc = mdb_cursor_open(txn, ob->pending, &cur);
	MDB_val key, val;
	if (rc == 0 && after) {
		key.mv_size = OUTBOX_ID_LEN;
		key.mv_data = (void *)after;
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
		if (rc == 0 && memcmp(key.mv_data, after, OUTBOX_ID_LEN) == 0)
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	} else if (rc == 0) {
		rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	}
	ug_err err = UG_OK;
	for (size_t i = 0; rc == 0 && err == UG_OK && i < max; i++) {
		if (key.mv_size != OUTBOX_ID_LEN ||
		    val.mv_size < 8 + UG_SEAL_OVERHEAD ||
		    val.mv_size > 8 + RECORD_FRAME_MAX + UG_SEAL_OVERHEAD ||
		    ug_seal_open(ob->storage_key, key.mv_data, OUTBOX_ID_LEN,
				 (uint8_t *)val.mv_data + 8, val.mv_size - 8,
				 ob->scratch) != UG_OK) {
			log_err("OUTBOX-SEAL",
				"an outbox record does not open "
				"with this adapter's storage key");
			err = UG_EMALFORMED;
			break;
		}
		err = fn(ctx, key.mv_data, ob->scratch,
			 val.mv_size - 8 - UG_SEAL_OVERHEAD);
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (err == UG_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = outbox_err(ob, rc, "outbox scan");
	return err;
}

/* Open the sealed record val of id into ob->scratch; its length, or -1
 * if it does not open with this adapter's key. */
static long
open_record(outbox *ob, const uint8_t *id, const MDB_val *val)
{
	if (val->mv_size < 8 + UG_SEAL_OVERHEAD ||
	    val->mv_size > 8 + RECORD_FRAME_MAX + UG_SEAL_OVERHEAD ||
	    ug_seal_open(ob->storage_key, id, OUTBOX_ID_LEN,
			 (uint8_t *)val->mv_data + 8, val->mv_size - 8,
			 ob->scratch) != UG_OK) {
		log_err("OUTBOX-SEAL", "an outbox record does not open "
				       "with this adapter's storage key");
		return -1;
	}
	return (long)(val->mv_size - 8 - UG_SEAL_OVERHEAD);
}

ug_err
outbox_scan_queue(outbox *ob, uint64_t after, size_t max, outbox_queue_fn fn,
		  void *ctx)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return outbox_err(ob, rc, "outbox scan");
	MDB_cursor *cur;
	rc = mdb_cursor_open(txn, ob->order, &cur);
	uint8_t from[8];
	ug_put_be64(from, after + 1);
	MDB_val key = {8, from}, val;
	if (rc == 0)
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	ug_err err = UG_OK;
	size_t visited = 0;
	while (rc == 0 && err == UG_OK && visited < max) {
		uint8_t id[OUTBOX_ID_LEN];
		uint64_t seq = key.mv_size == 8 ? ug_get_be64(key.mv_data) : 0;
		if (ob->stage_first && seq >= ob->stage_first)
			break; /* held back: the stage is the queue's end */
		if (val.mv_size != OUTBOX_ID_LEN) {
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
			continue;
		}
		memcpy(id, val.mv_data, OUTBOX_ID_LEN);
		MDB_val ik = {OUTBOX_ID_LEN, id}, rec, undo;
		rc = mdb_get(txn, ob->pending, &ik, &rec);
		if (rc == MDB_NOTFOUND) { /* left behind: not in the queue */
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
			continue;
		}
		if (rc != 0)
			break;
		long len = open_record(ob, id, &rec);
		if (len < 0) {
			err = UG_EMALFORMED;
			break;
		}
		/* What it supersedes: the latest before it (undo record). */
		const uint8_t *prev = NULL;
		rc = mdb_get(txn, ob->undo, &ik, &undo);
		if (rc == 0 && undo.mv_size == UNDO_LEN &&
		    ((uint8_t *)undo.mv_data)[OUTBOX_KEY_LEN])
			prev = (uint8_t *)undo.mv_data + OUTBOX_KEY_LEN + 1 +
			       OUTBOX_ID_LEN;
		if (rc == MDB_NOTFOUND)
			rc = 0;
		if (rc != 0)
			break;
		visited++;
		err = fn(ctx, seq, id, ob->scratch, (size_t)len, prev);
		if (err == UG_OK)
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	/* The queue is in the order put, scattered over the file by id:
	 * what this scan mapped is not needed again. */
	trim_map(ob);
	if (err == UG_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = outbox_err(ob, rc, "outbox scan");
	return err;
}

ug_err
outbox_done(outbox *ob, const uint8_t (*ids)[OUTBOX_ID_LEN], size_t n,
	    const bool *rejected)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(ob->env, NULL, 0, &txn);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		MDB_val key = {OUTBOX_ID_LEN, (void *)ids[i]}, empty = {0, ""};
		rc = mdb_del(txn, ob->pending, &key, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		if (rc == 0)
			rc = dequeue(ob, txn, ids[i]);
		if (rc == 0 && !(rejected && rejected[i]))
			rc = mdb_put(txn, ob->sent, &key, &empty, 0);
		if (rc == 0)
			rc = settle_latest(ob, txn, ids[i],
					   rejected && rejected[i]);
	}
	MDB_stat st;
	bool empty = rc == 0 && mdb_stat(txn, ob->pending, &st) == 0 &&
		     st.ms_entries == 0;
	if (rc != 0) {
		mdb_txn_abort(txn);
		return outbox_err(ob, rc, "outbox done");
	}
	rc = mdb_txn_commit(txn);
	if (rc == 0 && empty)
		empty_origins(ob);
	trim_map(ob);
	return outbox_err(ob, rc, "outbox done commit");
}

ug_err
outbox_counts(outbox *ob, size_t *pending, size_t *sent)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return outbox_err(ob, rc, "outbox counts");
	MDB_stat st;
	*pending = mdb_stat(txn, ob->pending, &st) == 0 ? st.ms_entries : 0;
	*sent = mdb_stat(txn, ob->sent, &st) == 0 ? st.ms_entries : 0;
	mdb_txn_abort(txn);
	return UG_OK;
}

ug_err
outbox_held(outbox *ob, size_t *held)
{
	*held = 0;
	if (!ob->stage_first)
		return UG_OK;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	int rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0)
		rc = mdb_cursor_open(txn, ob->order, &cur);
	uint8_t first[8];
	ug_put_be64(first, ob->stage_first);
	MDB_val key = {8, first}, val;
	MDB_cursor_op op = MDB_SET_RANGE;
	while (rc == 0 && (rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
		(*held)++;
		op = MDB_NEXT;
	}
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	return rc == MDB_NOTFOUND ? UG_OK : outbox_err(ob, rc, "outbox held");
}

static int
id_state(outbox *ob, MDB_txn *txn, const uint8_t *id, int *state,
	 int64_t *queued_at)
{
	MDB_val key = {OUTBOX_ID_LEN, (void *)id}, val;
	*state = OUTBOX_UNKNOWN;
	*queued_at = 0;
	int rc = mdb_get(txn, ob->pending, &key, &val);
	if (rc == 0) {
		*state = OUTBOX_PENDING;
		if (val.mv_size >= 8)
			*queued_at = (int64_t)ug_get_be64(val.mv_data);
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	rc = mdb_get(txn, ob->sent, &key, &val);
	if (rc == 0)
		*state = OUTBOX_SENT;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

ug_err
outbox_lookup(outbox *ob, const uint8_t key[OUTBOX_KEY_LEN],
	      outbox_latest *out)
{
	memset(out, 0, sizeof *out);
	out->state = OUTBOX_UNKNOWN;
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return outbox_err(ob, rc, "outbox lookup");
	MDB_val k = {OUTBOX_KEY_LEN, (void *)key}, val;
	rc = mdb_get(txn, ob->latest, &k, &val);
	if (rc == 0 && val.mv_size == LATEST_LEN) {
		out->found = true;
		memcpy(out->content, val.mv_data, OUTBOX_ID_LEN);
		memcpy(out->id, (uint8_t *)val.mv_data + OUTBOX_ID_LEN,
		       OUTBOX_ID_LEN);
		rc = id_state(ob, txn, out->id, &out->state, &out->queued_at);
	} else if (rc == 0 || rc == MDB_NOTFOUND) {
		rc = 0;
	}
	mdb_txn_abort(txn);
	return rc == 0 ? UG_OK : outbox_err(ob, rc, "outbox lookup");
}

ug_err
outbox_id_state(outbox *ob, const uint8_t id[OUTBOX_ID_LEN], int *state,
		int64_t *queued_at)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return outbox_err(ob, rc, "outbox state");
	rc = id_state(ob, txn, id, state, queued_at);
	mdb_txn_abort(txn);
	return rc == 0 ? UG_OK : outbox_err(ob, rc, "outbox state");
}

/* ---- staging -------------------------------------------------------- */

/* Events taken out per transaction by outbox_stage_abort: each costs a
 * commit, and each dirties pages held in memory until it. */
#define ABORT_BATCH 1024

void
outbox_stage_begin(outbox *ob)
{
	assert(!ob->staging);
	ob->staging = true;
	ob->stage_first = 0;
}

ug_err
outbox_stage_commit(outbox *ob)
{
	assert(ob->staging);
	if (!ob->stage_first) {
		ob->staging = false;
		return UG_OK;
	}
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(ob->env, NULL, 0, &txn);
	MDB_val key = {5, "first"};
	if (rc == 0) {
		rc = mdb_del(txn, ob->stage, &key, NULL);
		if (rc == 0 || rc == MDB_NOTFOUND)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	if (rc != 0)
		return outbox_err(ob, rc, "outbox stage commit");
	ob->staging = false;
	ob->stage_first = 0;
	return UG_OK;
}

/* Take up to max events off the queue's end, while they are the
 * stage's: newest first, so each key's latest goes back step by step
 * to what it was before the stage. *left: the stage has more. */
static int
unqueue_tail(outbox *ob, MDB_txn *txn, size_t max, size_t *removed, bool *left)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, ob->order, &cur);
	*left = false;
	for (size_t i = 0; rc == 0; i++) {
		MDB_val key, val;
		rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
		if (rc != 0 || key.mv_size != 8 ||
		    ug_get_be64(key.mv_data) < ob->stage_first)
			break;
		if (i == max) {
			*left = true;
			break;
		}
		uint8_t id[OUTBOX_ID_LEN], seq[8];
		memcpy(seq, key.mv_data, 8);
		bool valid = val.mv_size == OUTBOX_ID_LEN;
		if (valid)
			memcpy(id, val.mv_data, OUTBOX_ID_LEN);
		rc = mdb_cursor_del(cur, 0);
		if (rc == 0)
			rc = drop_origin(ob, txn, seq);
		if (rc != 0 || !valid)
			continue;
		MDB_val ik = {OUTBOX_ID_LEN, id};
		rc = mdb_del(txn, ob->seqof, &ik, NULL);
		if (rc == 0 || rc == MDB_NOTFOUND)
			rc = mdb_del(txn, ob->pending, &ik, NULL);
		if (rc == 0 || rc == MDB_NOTFOUND)
			rc = settle_latest(ob, txn, id, true);
		(*removed)++;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

ug_err
outbox_stage_abort(outbox *ob, size_t *removed)
{
	assert(ob->staging);
	*removed = 0;
	bool left = ob->stage_first != 0;
	while (left) {
		MDB_txn *txn = NULL;
		int rc = mdb_txn_begin(ob->env, NULL, 0, &txn);
		if (rc == 0)
			rc =
			    unqueue_tail(ob, txn, ABORT_BATCH, removed, &left);
		/* The mark goes with the last of the stage: a crash before
		 * it leaves the mark, and the rest is taken out at the
		 * next open. */
		MDB_val key = {5, "first"};
		if (rc == 0 && !left)
			rc = mdb_del(txn, ob->stage, &key, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else if (txn)
			mdb_txn_abort(txn);
		trim_map(ob);
		if (rc != 0)
			return outbox_err(ob, rc, "outbox stage abort");
	}
	ob->staging = false;
	ob->stage_first = 0;
	return UG_OK;
}
