/*
 * Backup and restore of the three environments (store.h). The copy is
 * LMDB's own hot copy, compacting (mdb_env_copyfd2 with MDB_CP_COMPACT): a
 * consistent snapshot of committed transactions while hubd writes on.
 * derived/ and ids/ are copied before log/, so the copy's derived state
 * and event-id index are never ahead of its log: a hub started on a
 * restore replays and indexes the difference, as after a crash.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"

/* Each before the one it is rebuilt from. */
static const char *const envs[] = {"derived", "ids", "log"};
#define NENVS (sizeof envs / sizeof *envs)
_Static_assert(NENVS == STORE_BACKUP_FILES, "one file per environment");

void
store_backup_files(store_backup_file out[STORE_BACKUP_FILES])
{
	static const char *const paths[] = {"derived/data.mdb", "ids/data.mdb",
					    "log/data.mdb"};
	for (size_t i = 0; i < NENVS; i++)
		out[i] = (store_backup_file){.path = paths[i]};
}

static ug_err sync_dir(const char *path, ug_diag *diag);

/* Length and BLAKE2b-256 of a file as it is now, once it is on disk. */
static ug_err
hash_file(const char *path, store_backup_file *f, ug_diag *diag)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ug_diag_set(diag, path, "cannot open %s: %s", path,
			    strerror(errno));
		return UG_EIO;
	}
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, STORE_BACKUP_HASH_LEN);
	char buf[1 << 16];
	ssize_t n;
	f->bytes = 0;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		crypto_generichash_update(&st, (const uint8_t *)buf,
					  (size_t)n);
		f->bytes += (uint64_t)n;
	}
	if (n == 0 && fsync(fd) != 0)
		n = -1;
	int saved = errno;
	close(fd);
	if (n < 0) {
		ug_diag_set(diag, path, "cannot read %s: %s", path,
			    strerror(saved));
		return UG_EIO;
	}
	crypto_generichash_final(&st, f->blake2b, STORE_BACKUP_HASH_LEN);
	f->known = true;
	return UG_OK;
}

/* UG_OK when path is missing or an empty directory. */
static ug_err
require_empty(const char *path, ug_diag *diag)
{
	DIR *d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return UG_OK;
		/* A file where the directory should be is refused like a
		 * directory that holds something: nothing is written, and
		 * there is nothing to take back. */
		if (errno == ENOTDIR) {
			ug_diag_set(diag, path,
				    "%s is not empty (not a directory)", path);
			return UG_EEXISTS;
		}
		ug_diag_set(diag, path, "cannot read %s: %s", path,
			    strerror(errno));
		return UG_EIO;
	}
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)))
		empty = strcmp(e->d_name, ".") == 0 ||
			strcmp(e->d_name, "..") == 0;
	closedir(d);
	if (!empty) {
		ug_diag_set(diag, path, "%s is not empty", path);
		return UG_EEXISTS;
	}
	return UG_OK;
}

/* 0700 also when the (empty) directory was there before, with a looser
 * mode: what goes into it is as sensitive as the store. */
static ug_err
make_dir(const char *path, ug_diag *diag)
{
	if ((mkdir(path, 0700) != 0 && errno != EEXIST) ||
	    chmod(path, 0700) != 0) {
		ug_diag_set(diag, path, "cannot create %s: %s", path,
			    strerror(errno));
		return UG_EIO;
	}
	return UG_OK;
}

/* The lock file LMDB made when the copy was opened to be read back: a
 * backup holds data only. */
static void
drop_lock(const char *dir, const char *env)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s/lock.mdb", dir, env);
	unlink(path);
}

void
store_backup_undo(const char *dir, bool made_dir)
{
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	char path[600];
	for (size_t i = 0; i < NENVS; i++) {
		for (size_t f = 0; f < 2; f++) {
			snprintf(path, sizeof path, "%s/%s/%s", dir, envs[i],
				 files[f]);
			unlink(path);
		}
		snprintf(path, sizeof path, "%s/%s", dir, envs[i]);
		rmdir(path);
	}
	if (made_dir)
		rmdir(dir);
}

static ug_err backup_into(store *s, const char *dir, const store_opts *opts,
			  const uint8_t *sign_public, store_backup_info *out,
			  ug_diag *diag);

/* A backup that fails (a full disk, a copy that does not open) takes
 * back what it wrote: what is left is no backup, and would only be
 * refused as "not empty" by the next night's run into the same DIR. */
ug_err
store_backup(store *s, const char *dir, const store_opts *opts,
	     const uint8_t *sign_public, store_backup_info *out, ug_diag *diag)
{
	memset(out, 0, sizeof *out);
	ug_err err = require_empty(dir, diag);
	if (err != UG_OK)
		return err;
	out->made_dir = access(dir, F_OK) != 0;
	err = make_dir(dir, diag);
	if (err != UG_OK)
		return err;
	/* Two backups into one DIR (a nightly run and a manual one of the
	 * same date) may both have found it empty: written into at once,
	 * the one that failed would take back the other's files. The first
	 * to lock DIR has it; the other finds it taken, or no longer empty,
	 * and writes nothing. The manifest, written once this returns,
	 * needs no lock: DIR then holds the copy. */
	int lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0) {
		ug_diag_set(diag, dir, "cannot create %s: %s", dir,
			    strerror(errno));
		return UG_EIO;
	}
	/* Only a lock held is another backup: a file system that takes
	 * no lock on a directory (NFS, CIFS) is backed up to as before. */
	if (flock(lock, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
		close(lock);
		ug_diag_set(diag, dir, "%s is not empty", dir);
		return UG_EEXISTS;
	}
	err = require_empty(dir, diag);
	if (err != UG_OK) {
		close(lock);
		return err;
	}
	out->started = true;
	/* Opening the copy points the process's "how much room is left"
	 * at DIR: the store's own writes after it (the backup's record) on a
	 * full disk under data_dir were then said as a bare I/O error. */
	char own[600];
	ug_strlcpy(own, store__env_dir(), sizeof own);
	err = backup_into(s, dir, opts, sign_public, out, diag);
	store__env_dir_set(own);
	if (err != UG_OK)
		store_backup_undo(dir, out->made_dir);
	close(lock);
	return err;
}

/* An erasure or purge whose records are in the copy after `from`. */
static ug_err
find_deletion(void *ctx, const store_audit_record *r)
{
	if (strcmp(r->action, "erase") == 0 ||
	    strcmp(r->action, "purge") == 0) {
		*(bool *)ctx = true;
		return UG_EAGAIN; /* found: stop */
	}
	return UG_OK;
}

/* The copy is opened to be read back. Its failure is DIR's (a disk full
 * of the copy, with no room left for LMDB's lock file), yet the bare
 * "cannot open LMDB environment: No space left on device" is what hubctl
 * says of its own store on a full disk: name the copy. */
static ug_err
copy_open(store **copy, const char *dir, const store_opts *opts, ug_diag *diag)
{
	ug_err err = store_open(copy, dir, opts, diag);
	if (err != UG_OK && diag) {
		char why[sizeof diag->reason];
		ug_strlcpy(why,
			   diag->reason[0] ? diag->reason : ug_strerror(err),
			   sizeof why);
		ug_diag_set(diag, dir, "the copy in %s does not open: %s", dir,
			    why);
	}
	return err;
}

static ug_err
backup_into(store *s, const char *dir, const store_opts *opts,
	    const uint8_t *sign_public, store_backup_info *out, ug_diag *diag)
{
	/* The trail's length before derived/ is copied: an erasure or purge
	 * recorded after it may have deleted a person from the log copy,
	 * made later, whom the derived copy still holds. */
	uint64_t audit_before = 0;
	ug_err err = store_audit_count(s, &audit_before);
	if (err != UG_OK)
		return err;
	MDB_env *from[] = {s->derived_env, s->ids_env, s->log_env};
	char path[600];
	for (size_t i = 0; err == UG_OK && i < NENVS; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, envs[i]);
		err = make_dir(path, diag);
		if (err != UG_OK)
			break;
		/* Our own 0600 descriptor, not mdb_env_copy2's file made
		 * 0666 less the umask: a backup killed mid-copy must not
		 * leave its sealed pages readable by the group. */
		snprintf(path, sizeof path, "%s/%s/data.mdb", dir, envs[i]);
		int fd =
		    open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		int rc = fd < 0 ? errno
				: mdb_env_copyfd2(from[i], fd, MDB_CP_COMPACT);
		if (fd >= 0 && close(fd) != 0 && rc == 0)
			rc = errno;
		if (rc != 0) {
			ug_diag_set(diag, envs[i], "copy of %s/ failed: %s",
				    envs[i], mdb_strerror(rc));
			/* The diag names the copy: the disk that failed is
			 * DIR's, not the store's, so no STORE-LMDB line
			 * sends the operator to free space under log/. */
			return rc == ENOMEM ? UG_ENOMEM : UG_EIO;
		}
	}
	if (err != UG_OK)
		return err;
	/* Read the figures from the copy itself, not from the live store:
	 * they then say exactly what the backup holds, and the copy is shown
	 * to open with the storage key. */
	store *copy = NULL;
	err = copy_open(&copy, dir, opts, diag);
	bool deleted = false;
	if (err == UG_OK) {
		/* A trail that cannot be read past a record cannot tell:
		 * take it for one (a broken trail is still a backup). */
		ug_err scan = store_audit_scan(copy, audit_before + 1,
					       find_deletion, &deleted);
		if (scan != UG_OK && scan != UG_EAGAIN)
			deleted = true;
	}
	/* Such derived state would bring the person back after a restore
	 * (their profile, timers, index), and no purge finds it; the index
	 * would keep their event ids. The copy keeps neither: opening it
	 * indexes the ids again from its log, and the restored hubd
	 * rebuilds the derived state. */
	if (err == UG_OK && deleted) {
		store_close(&copy);
		for (size_t i = 0; i + 1 < NENVS; i++) { /* all but log/ */
			snprintf(path, sizeof path, "%s/%s/data.mdb", dir,
				 envs[i]);
			unlink(path);
			drop_lock(dir, envs[i]);
		}
		err = copy_open(&copy, dir, opts, diag);
	}
	if (err == UG_OK)
		err = store_get_stats(copy, &out->stats);
	if (err == UG_OK && sign_public) {
		err = store_audit_verify(copy, sign_public, &out->audit);
		out->audit_verified = err == UG_OK;
	}
	if (err == UG_OK) {
		MDB_txn *txn = NULL;
		MDB_val key = {6, "format"}, val;
		int rc = store__begin_read(copy->log_env, &txn);
		if (rc == 0 && mdb_get(txn, copy->log_meta, &key, &val) == 0 &&
		    val.mv_size == 4)
			out->format = ug_get_be32(val.mv_data);
		if (rc == 0)
			mdb_txn_abort(txn);
	}
	store_close(&copy);
	for (size_t i = 0; i < NENVS; i++)
		drop_lock(dir, envs[i]);
	/* Hashed last: opening the copy above may write to it. Synced, names
	 * included, before the manifest says the backup is whole. */
	store_backup_files(out->files);
	for (size_t i = 0; err == UG_OK && i < NENVS; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, out->files[i].path);
		err = hash_file(path, &out->files[i], diag);
		snprintf(path, sizeof path, "%s/%s", dir, envs[i]);
		if (err == UG_OK)
			err = sync_dir(path, diag);
	}
	return err;
}

/* Copies from to to, with what was copied (length, hash) in got. */
static ug_err
copy_file(const char *from, const char *to, store_backup_file *got,
	  ug_diag *diag)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		ug_diag_set(diag, from, "cannot open %s: %s", from,
			    strerror(errno));
		return errno == ENOENT ? UG_ENOTFOUND : UG_EIO;
	}
	int outfd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ug_err err = outfd < 0 ? UG_EIO : UG_OK;
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, STORE_BACKUP_HASH_LEN);
	got->bytes = 0;
	char buf[1 << 16];
	ssize_t n = 0;
	while (err == UG_OK && (n = read(in, buf, sizeof buf)) > 0) {
		crypto_generichash_update(&st, (const uint8_t *)buf,
					  (size_t)n);
		got->bytes += (uint64_t)n;
		for (ssize_t done = 0; err == UG_OK && done < n;) {
			ssize_t w =
			    write(outfd, buf + done, (size_t)(n - done));
			if (w < 0)
				err = UG_EIO;
			else
				done += w;
		}
	}
	if (n < 0 || (err == UG_OK && fsync(outfd) != 0))
		err = UG_EIO;
	if (err != UG_OK)
		ug_diag_set(diag, to, "cannot write %s: %s", to,
			    strerror(errno));
	if (outfd >= 0)
		close(outfd);
	close(in);
	crypto_generichash_final(&st, got->blake2b, STORE_BACKUP_HASH_LEN);
	got->known = err == UG_OK;
	return err;
}

/* A data file cut short maps pages past its end, and the first read of
 * one kills the process (SIGBUS) with part of a backup in data_dir: so
 * the file must hold every page LMDB may read before any store opens
 * it (store__env_whole). */
static ug_err
check_pages(const char *path, const char *shown, ug_diag *diag)
{
	struct stat st;
	MDB_env *env = NULL;
	char why[160];
	int rc = stat(path, &st) != 0 ? errno : mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_open(
		    env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600);
	if (rc != 0) {
		mdb_env_close(env);
		ug_diag_set(diag, shown,
			    "%s is damaged: it does not open as "
			    "LMDB (%s)",
			    shown, mdb_strerror(rc));
		return UG_EMALFORMED;
	}
	ug_err err = store__env_whole(env, why, sizeof why);
	mdb_env_close(env);
	if (err != UG_OK)
		ug_diag_set(diag, shown, "%s is damaged: %s", shown, why);
	return err;
}

/* What was copied against what the backup's manifest says it wrote. */
static ug_err
check_copy(const store_backup_file *want, const store_backup_file *got,
	   const char *shown, ug_diag *diag)
{
	if (!want->known)
		return UG_OK;
	if (got->bytes != want->bytes) {
		ug_diag_set(diag, shown,
			    "%s is damaged: %" PRIu64 " bytes, "
			    "the backup wrote %" PRIu64 " (manifest.json "
			    "file_bytes)",
			    shown, got->bytes, want->bytes);
		return UG_EMALFORMED;
	}
	if (sodium_memcmp(got->blake2b, want->blake2b,
			  STORE_BACKUP_HASH_LEN) != 0) {
		ug_diag_set(diag, shown,
			    "%s is damaged: its bytes are not "
			    "the ones the backup wrote (manifest.json "
			    "file_blake2b)",
			    shown);
		return UG_EMALFORMED;
	}
	return UG_OK;
}

static ug_err
sync_dir(const char *path, ug_diag *diag)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		ug_diag_set(diag, path, "cannot sync %s: %s", path,
			    strerror(errno));
		if (fd >= 0)
			close(fd);
		return UG_EIO;
	}
	close(fd);
	return UG_OK;
}

/* A restore killed (or the machine stopped) during its copy leaves part
 * of a backup that opens as a store: derived/ and ids/ without their log,
 * or a log cut short. The mark, made durable before the first file is
 * copied, keeps every store_open from taking that for the store. */
static ug_err
mark_restore(const char *data_dir, ug_diag *diag)
{
	char path[600];
	snprintf(path, sizeof path, "%s/" STORE_RESTORE_MARK, data_dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	/* Made just now (O_EXCL), so not held; a file system that takes
	 * no lock leaves a restore run again meanwhile unchecked, as before.
	 */
	if (fd >= 0)
		(void)flock(fd, LOCK_EX | LOCK_NB);
	if (fd < 0 || fsync(fd) != 0) {
		ug_diag_set(diag, data_dir, "cannot create %s: %s", path,
			    strerror(errno));
		if (fd >= 0)
			close(fd);
		return UG_EIO;
	}
	/* Locked until this process ends: a restore run again meanwhile
	 * must tell this one, still copying or checking, from one that was
	 * killed, whose files it takes back (undo_unfinished). */
	return sync_dir(data_dir, diag);
}

/* Whether dir (one of data_dir's, or data_dir itself with top set) holds
 * nothing but what a restore, or a hubd refused on it, makes there. */
static bool
restore_made_only(const char *dir, bool top)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT;
	bool only = true;
	struct dirent *e;
	while (only && (e = readdir(d))) {
		const char *n = e->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		if (!top) {
			only = strcmp(n, "data.mdb") == 0 ||
			       strcmp(n, "lock.mdb") == 0;
			continue;
		}
		if (strcmp(n, STORE_RESTORE_MARK) == 0 ||
		    strcmp(n, "hubd.lock") == 0)
			continue;
		only = false;
		for (size_t i = 0; i < NENVS; i++)
			if (strcmp(n, envs[i]) == 0) {
				char sub[600];
				snprintf(sub, sizeof sub, "%s/%s", dir, n);
				only = restore_made_only(sub, false);
			}
	}
	closedir(d);
	return only;
}

/* What an unfinished restore left is taken back before a new one; so is
 * the hubd.lock of a hubd that refused to start on it, unless a hubd
 * still holds it. A data_dir that holds anything else as well is refused
 * as not empty with the mark left in place: taken back and then refused,
 * it would be left without the mark that keeps hubd from starting an
 * empty store there. */
static ug_err
undo_unfinished(const char *data_dir, ug_diag *diag)
{
	char path[600];
	snprintf(path, sizeof path, "%s/" STORE_RESTORE_MARK, data_dir);
	int mark = open(path, O_RDWR | O_CLOEXEC);
	if (mark < 0)
		mark = open(path, O_RDONLY | O_CLOEXEC);
	if (mark < 0)
		return UG_OK;
	/* Still locked: that restore runs; taken back under it, its files
	 * would fail it, and it would take back this one's in turn. */
	if (flock(mark, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
		close(mark);
		ug_diag_set(diag, data_dir,
			    "another hubctl restore is still copying into %s: "
			    "let it finish, or stop it and run this again",
			    data_dir);
		return UG_EEXISTS;
	}
	if (!restore_made_only(data_dir, true)) {
		close(mark);
		ug_diag_set(diag, data_dir, "%s is not empty", data_dir);
		return UG_EEXISTS;
	}
	store_restore_undo(data_dir);
	close(mark);
	snprintf(path, sizeof path, "%s/hubd.lock", data_dir);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlink(path);
		close(fd);
	}
	return UG_OK;
}

ug_err
store_restore_done(const char *data_dir, ug_diag *diag)
{
	char path[600];
	snprintf(path, sizeof path, "%s/" STORE_RESTORE_MARK, data_dir);
	if (unlink(path) != 0 && errno != ENOENT) {
		ug_diag_set(diag, data_dir, "cannot remove %s: %s", path,
			    strerror(errno));
		return UG_EIO;
	}
	return sync_dir(data_dir, diag);
}

/* hubd.lock held: a hubd runs on data_dir, refused by name rather than
 * as "not empty". Left by a hubd that stopped, it holds nothing: a
 * data_dir whose store was moved aside but not the lock is empty, and
 * the lock goes. */
static ug_err
check_hubd_lock(const char *data_dir, ug_diag *diag)
{
	char path[600];
	snprintf(path, sizeof path, "%s/hubd.lock", data_dir);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return UG_OK;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char pid[24] = "";
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(fd);
		ug_diag_set(diag, data_dir,
			    "hubd runs on %s%s%s%s: stop it first (a restore "
			    "never replaces the store in use)",
			    data_dir, pid[0] ? " (pid " : "", pid,
			    pid[0] ? ")" : "");
		return UG_EEXISTS;
	}
	DIR *d = opendir(data_dir);
	bool alone = d != NULL;
	struct dirent *e;
	while (alone && (e = readdir(d)))
		alone = strcmp(e->d_name, ".") == 0 ||
			strcmp(e->d_name, "..") == 0 ||
			strcmp(e->d_name, "hubd.lock") == 0;
	if (d)
		closedir(d);
	if (alone)
		unlink(path);
	close(fd);
	return UG_OK;
}

ug_err
store_restore(const char *from, const char *data_dir,
	      const store_backup_file expect[STORE_BACKUP_FILES],
	      ug_diag *diag)
{
	ug_err err = undo_unfinished(data_dir, diag);
	if (err == UG_OK)
		err = check_hubd_lock(data_dir, diag);
	if (err == UG_OK)
		err = require_empty(data_dir, diag);
	if (err != UG_OK)
		return err;
	if (ug_mkdir_p(data_dir) != 0) {
		ug_diag_set(diag, data_dir, "cannot create %s: %s", data_dir,
			    strerror(errno));
		return UG_EIO;
	}
	err = mark_restore(data_dir, diag);
	if (err != UG_OK)
		return err;
	char src[600], dst[600];
	for (size_t i = 0; err == UG_OK && i < NENVS; i++) {
		snprintf(src, sizeof src, "%s/%s/data.mdb", from, envs[i]);
		/* A backup from before format 4 has no ids/: the hub indexes
		 * the log again when it opens the restored store. One whose
		 * manifest lists ids/ has lost it. */
		if (strcmp(envs[i], "ids") == 0 && !expect[i].known &&
		    access(src, F_OK) != 0)
			continue;
		snprintf(dst, sizeof dst, "%s/%s", data_dir, envs[i]);
		err = make_dir(dst, diag);
		snprintf(dst, sizeof dst, "%s/%s/data.mdb", data_dir, envs[i]);
		store_backup_file got;
		if (err == UG_OK)
			err = copy_file(src, dst, &got, diag);
		if (err == UG_OK)
			err = check_copy(&expect[i], &got, src, diag);
		if (err == UG_OK)
			err = check_pages(dst, src, diag);
		/* The file's name in its directory must be as durable as its
		 * bytes before the mark goes: a crash after that must not
		 * leave a data_dir whose log/ has lost its data.mdb, which
		 * the next open would take for a new, empty store. */
		snprintf(dst, sizeof dst, "%s/%s", data_dir, envs[i]);
		if (err == UG_OK)
			err = sync_dir(dst, diag);
	}
	if (err == UG_OK)
		err = sync_dir(data_dir, diag);
	/* A copy cut short (a file missing from the backup, a full disk)
	 * must not leave a store that is neither the backup nor empty: a
	 * second try would be refused as "not empty". */
	if (err != UG_OK)
		store_restore_undo(data_dir);
	return err;
}

void
store_restore_undo(const char *data_dir)
{
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	char path[600];
	for (size_t i = 0; i < NENVS; i++) {
		for (size_t f = 0; f < 2; f++) {
			snprintf(path, sizeof path, "%s/%s/%s", data_dir,
				 envs[i], files[f]);
			unlink(path);
		}
		snprintf(path, sizeof path, "%s/%s", data_dir, envs[i]);
		rmdir(path);
	}
	/* Last: until the copied files are gone, it must stay. */
	snprintf(path, sizeof path, "%s/" STORE_RESTORE_MARK, data_dir);
	unlink(path);
}
