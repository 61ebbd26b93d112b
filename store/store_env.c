/*
 * Opening the store's LMDB environments and saying what their failures
 * mean: a full map or disk said once a minute and its end said once, the
 * files a crash or a copy cut short found before a read of them kills
 * the process, lock files given their blocks before LMDB writes them
 * through a map. The hub's store (store.c) and an adapter's outbox
 * (outbox.c) both open theirs here, so an adapter links this, not the
 * log.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store_int.h"

/* Per process, not per store: hubd opens one store, and the state only
 * decides what is logged and what store_map_full says. Written by the
 * writer, applier and loop threads. One for a full map, one for any
 * other failure (a full disk): both last until the operator acts, and
 * every retry of the batch, the applier and the audit meets them. */
typedef struct {
	atomic_bool full;
	atomic_bool announced; /* said to hold, not yet said to have ended */
	_Atomic int64_t logged_at;
	_Atomic uint64_t suppressed;
} full_state;
static full_state map_full[STORE_ENV_N], io_failing[STORE_ENV_N];
/* A map that refused a write stays refused for the ops check until the
 * process ends: only a restart with a larger map ends it, and a refused
 * batch can leave the data file well under ops_map_percent. */
static atomic_bool map_refused[STORE_ENV_N];

static const char *const env_dir[STORE_ENV_N] = {
    "log/", "ids/", "derived/", "log/, ids/ or derived/", "the outbox"};
static const char *const env_setting[STORE_ENV_N] = {
    "log_map_mb", "log_map_mb", "derived_map_mb",
    "log_map_mb or derived_map_mb", "(none)"};

/* What was not reported since the last report, for its end. */
static void
full_since(full_state *st, const char *noun, char *out, size_t cap)
{
	uint64_t more = atomic_exchange(&st->suppressed, 0);
	out[0] = '\0';
	if (more)
		snprintf(out, cap, " (%llu more %s since the last report)",
			 (unsigned long long)more, noun);
}

/* True when this failure is to be logged: the first, then one a minute. */
static bool
full_report_due(full_state *st)
{
	atomic_store(&st->full, true);
	int64_t now = ug_mono_ms(), at = atomic_load(&st->logged_at);
	if ((at != 0 && now - at < 60000) ||
	    !atomic_compare_exchange_strong(&st->logged_at, &at,
					    now ? now : 1)) {
		atomic_fetch_add(&st->suppressed, 1);
		return false;
	}
	atomic_store(&st->announced, true);
	return true;
}

static void
report_full(enum store__env env, const char *what)
{
	atomic_store(&map_refused[env], true);
	if (!full_report_due(&map_full[env]))
		return;
	char since[80];
	full_since(&map_full[env], "refused writes", since, sizeof since);
	log_err("STORE-FULL",
		"%s: %s: the %s map is full; raise %s and restart%s", what,
		mdb_strerror(MDB_MAP_FULL), env_dir[env], env_setting[env],
		since);
}

/* Where the store's files are, for asking how much room is left when a
 * write fails. Per process, like the states above. */
static char store_dir[600];

void
store__env_dir_set(const char *dir)
{
	snprintf(store_dir, sizeof store_dir, "%s", dir);
}

const char *
store__env_dir(void)
{
	return store_dir;
}

bool
store__disk_full(const char *dir)
{
	/* LMDB commits grow a file by many pages at a time: under this, a
	 * failed write is taken to be for want of room. */
	struct statvfs fs;
	return statvfs(dir, &fs) == 0 &&
	       (unsigned long long)fs.f_bavail * fs.f_frsize < (16u << 20);
}

static void
report_io(enum store__env env, const char *what, int rc)
{
	if (!full_report_due(&io_failing[env]))
		return;
	char since[80];
	full_since(&io_failing[env], "failures", since, sizeof since);
	/* LMDB turns a write the full disk cut short into EIO: the cause the
	 * operator can act on is the disk's. */
	if (rc == EIO && store_dir[0] && store__disk_full(store_dir))
		rc = ENOSPC;
	if (rc == ENOSPC || rc == EDQUOT)
		log_err("STORE-LMDB",
			"%s: %s: the disk under %s is full; free space%s",
			what, mdb_strerror(rc), env_dir[env], since);
	else
		log_err("STORE-LMDB", "%s: %s%s", what, mdb_strerror(rc),
			since);
}

/* A write went through: the end of a condition said to hold. A map or
 * disk that is nearly full takes the small writes between the ones it
 * refuses; the minute since the last report still runs, so each such
 * write that fits does not start the condition, and its line, anew. */
static bool
full_ended(full_state *st)
{
	return atomic_load(&st->full) && atomic_exchange(&st->full, false) &&
	       atomic_exchange(&st->announced, false);
}

void
store__env_wrote(enum store__env env)
{
	char since[80];
	if (full_ended(&io_failing[env])) {
		full_since(&io_failing[env], "failures", since, sizeof since);
		log_notice("STORE-LMDB", "%s takes writes again%s",
			   env_dir[env], since);
	}
	if (!full_ended(&map_full[env]))
		return;
	full_since(&map_full[env], "refused writes", since, sizeof since);
	log_notice("STORE-FULL", "the %s map takes writes again%s",
		   env_dir[env], since);
}

bool
store__map_refused(enum store__env env)
{
	return atomic_load(&map_refused[env]);
}

const char *
store_map_full(void)
{
	if (atomic_load(&map_full[STORE_ENV_DERIVED].full))
		return env_setting[STORE_ENV_DERIVED];
	for (int e = 0; e < STORE_ENV_N; e++)
		if (atomic_load(&map_full[e].full))
			return env_setting[e];
	return NULL;
}

ug_err
store__map_err(int rc, const char *what)
{
	return store__env_err(rc, STORE_ENV_LOG, what);
}

ug_err
store__env_err(int rc, enum store__env env, const char *what)
{
	switch (rc) {
	case MDB_SUCCESS:
		return UG_OK;
	case MDB_NOTFOUND:
		return UG_ENOTFOUND;
	case MDB_KEYEXIST:
		return UG_EEXISTS;
	case MDB_MAP_FULL:
		report_full(env, what);
		return UG_EFULL;
	case ENOMEM:
		return UG_ENOMEM;
	default:
		report_io(env, what, rc);
		return UG_EIO;
	}
}

ug_err
store__env_open(MDB_env **out, const char *path, size_t map_mb,
		unsigned max_dbs, unsigned flags, ug_diag *diag)
{
	int rc;
	return store__env_open_rc(out, path, map_mb, max_dbs, flags, diag,
				  &rc);
}

/* What mdb_env_open says of files that are no LMDB environment this
 * library reads: overwritten, cut short, or never finished. */
bool
store__env_unreadable(int rc)
{
	return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ||
	       rc == MDB_CORRUPTED;
}

/* Whether another process has the environment at path open: LMDB holds
 * a shared lock on the first byte of lock.mdb for as long as it has the
 * environment open. Asked before this process opens it, because closing
 * any descriptor of lock.mdb would drop the locks LMDB holds on it. */
bool
store__env_in_use(const char *path)
{
	char file[600];
	snprintf(file, sizeof file, "%s/lock.mdb", path);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct flock fl = {
	    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	bool used = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return used;
}

/* Set while this thread reads pages that may lie past the end of the
 * data file: the kernel answers such a read with SIGBUS. */
static _Thread_local sigjmp_buf *bus_jump;

static void
on_sigbus(int sig)
{
	if (bus_jump)
		siglongjmp(*bus_jump, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* How many of the pages first..last the free list names, or -1 when it
 * does not read: database 0 is LMDB's free list, as mdb_stat -f reads
 * it, per transaction a count and then that many page numbers. */
static int64_t
count_free(MDB_cursor *cur, size_t first, size_t last)
{
	MDB_val k, v;
	int64_t n = 0;
	int rc;
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		size_t count, pg;
		if (v.mv_size < sizeof count)
			return -1;
		memcpy(&count, v.mv_data, sizeof count);
		if (count > v.mv_size / sizeof pg - 1)
			return -1;
		for (size_t i = 1; i <= count; i++) {
			memcpy(&pg, (char *)v.mv_data + i * sizeof pg,
			       sizeof pg);
			n += pg >= first && pg <= last;
		}
	}
	return rc == MDB_NOTFOUND ? n : -1;
}

/* count_free, with SIGBUS caught for its length: a page of the free list
 * past the file's end would kill the process when read. -1 then. */
static int64_t
free_pages_in(MDB_env *env, size_t first, size_t last)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
		return -1;
	if (mdb_cursor_open(txn, 0, &cur) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	struct sigaction sa = {.sa_handler = on_sigbus}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	sigjmp_buf jump;
	volatile int64_t n = -1;
	if (sigsetjmp(jump, 1) == 0) {
		bus_jump = &jump;
		n = count_free(cur, first, last);
	}
	bus_jump = NULL;
	sigaction(SIGBUS, &old, NULL);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return n;
}

ug_err
store__env_whole(MDB_env *env, char *why, size_t cap)
{
	MDB_envinfo info;
	MDB_stat ms;
	struct stat st;
	int fd;
	if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &ms) != 0 ||
	    mdb_env_get_fd(env, &fd) != 0 || fstat(fd, &st) != 0) {
		snprintf(why, cap, "its LMDB header cannot be read");
		return UG_EMALFORMED;
	}
	uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	if ((uint64_t)st.st_size >= need)
		return UG_OK;
	/* LMDB counts every page below its last as the file's, but never
	 * writes one that a transaction took from the end of the file and
	 * freed again before it committed: a sound file may end before its
	 * last page. It is whole when every page it lacks is a free one. */
	size_t first = ((size_t)st.st_size + ms.ms_psize - 1) / ms.ms_psize;
	int64_t freed = free_pages_in(env, first, info.me_last_pgno);
	if (freed == (int64_t)(info.me_last_pgno + 1 - first))
		return UG_OK;
	snprintf(why, cap,
		 "%" PRIu64 " bytes, but its LMDB header counts %" PRIu64
		 " (cut short)",
		 (uint64_t)st.st_size, need);
	return UG_EMALFORMED;
}

/* Open env at path unless its files are damaged: *damaged then says
 * which and how (an LMDB error, or a data file cut short), and nothing
 * is open. A file another process has open is trusted: the first
 * process to open it after a crash checked it, and a file LMDB has
 * mapped does not shrink. */
static ug_err
env_open_checked(MDB_env **out, const char *path, size_t map_mb,
		 unsigned max_dbs, unsigned flags, char *damaged, size_t cap,
		 bool *in_use)
{
	int rc = 0;
	char why[160];
	damaged[0] = '\0';
	*in_use = store__env_in_use(path);
	ug_err err =
	    store__env_open_rc(out, path, map_mb, max_dbs, flags, NULL, &rc);
	if (err != UG_OK) {
		if (!store__env_unreadable(rc))
			return err;
		snprintf(damaged, cap, "%s does not open (%s)", path,
			 mdb_strerror(rc));
		return UG_EMALFORMED;
	}
	if (*in_use || store__env_whole(*out, why, sizeof why) == UG_OK)
		return UG_OK;
	snprintf(damaged, cap, "%s/data.mdb is damaged: %s", path, why);
	mdb_env_close(*out);
	*out = NULL;
	return UG_EMALFORMED;
}

ug_err
store__env_open_rebuilt(store *s, MDB_env **out, const char *path,
			size_t map_mb, unsigned max_dbs, const char *msgid,
			const char *then, ug_diag *diag)
{
	int rc = 0;
	char damaged[800];
	bool in_use;
	ug_err err = env_open_checked(out, path, map_mb, max_dbs, MDB_NOSYNC,
				      damaged, sizeof damaged, &in_use);
	if (err != UG_EMALFORMED)
		return err == UG_OK
			   ? UG_OK
			   : store__env_open_rc(out, path, map_mb, max_dbs,
						MDB_NOSYNC, diag, &rc);
	/* Everything here is rebuilt from the log, so files that do not
	 * open, or that end before their last page (a crash of the machine
	 * lost their end: reading there would kill the process with
	 * SIGBUS), must not keep the hub from starting. Emptied under log/'s
	 * write lock and only if they are still damaged under it and no
	 * other process has them open: two processes opening at once must
	 * not empty what the other one has just made (and has mapped).
	 * Truncated, not deleted, so that they keep their owner and mode. */
	MDB_txn *txn = NULL;
	int lrc = store__begin_write(s->log_env, &txn);
	if (lrc != 0)
		return store__map_err(lrc, "empty an unreadable environment");
	err = env_open_checked(out, path, map_mb, max_dbs, MDB_NOSYNC, damaged,
			       sizeof damaged, &in_use);
	if (err != UG_EMALFORMED || in_use) {
		mdb_txn_abort(txn);
		if (err == UG_EMALFORMED) {
			ug_diag_set(diag, path,
				    "%s, and another process has it open: "
				    "stop every hubd and hubctl on the store, "
				    "then start hubd again",
				    damaged);
			return UG_EIO;
		}
		return err == UG_OK
			   ? UG_OK
			   : store__env_open_rc(out, path, map_mb, max_dbs,
						MDB_NOSYNC, diag, &rc);
	}
	log_warn(msgid, "%s: emptied it; %s", damaged, then);
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	for (size_t i = 0; i < 2; i++) {
		char file[600];
		snprintf(file, sizeof file, "%s/%s", path, files[i]);
		int fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT) {
			ug_diag_set(diag, path, "cannot empty %s: %s", file,
				    strerror(errno));
			mdb_txn_abort(txn);
			return UG_EIO;
		}
		if (fd >= 0)
			close(fd);
	}
	err = store__env_open_rc(out, path, map_mb, max_dbs, MDB_NOSYNC, diag,
				 &rc);
	mdb_txn_abort(txn);
	return err;
}

/* LMDB sizes lock.mdb with ftruncate and writes it through a shared map:
 * on a full disk the first write to a page of it that has no block yet
 * ends the process with SIGBUS, before anything is said, at every start
 * (a lock.mdb made again, or emptied). Every page is given its block
 * first, so that a full disk is an error that says so. 8 KiB is LMDB's
 * own length for the 126 readers set below; a longer file is kept. */
static int
reserve_lock_file(const char *path)
{
	char file[600];
	snprintf(file, sizeof file, "%s/lock.mdb", path);
	int fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0; /* mdb_env_open meets it too and says why */
	struct stat st;
	int rc = fstat(fd, &st) != 0 ? errno : 0;
	if (rc == 0)
		rc = posix_fallocate(fd, 0,
				     st.st_size > 8192 ? st.st_size : 8192);
	close(fd);
	return rc == ENOSPC || rc == EDQUOT ? rc : 0;
}

ug_err
store__env_open_rc(MDB_env **out, const char *path, size_t map_mb,
		   unsigned max_dbs, unsigned flags, ug_diag *diag,
		   int *mdb_rc)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		int mkdir_errno = errno;
		/* In a data_dir this user may not look into, the directory may
		 * well be there: "cannot create" would send them looking for
		 * a missing store. */
		bool unseen = access(path, F_OK) != 0 && errno == EACCES;
		ug_diag_set(diag, "data_dir", "cannot %s %s: %s",
			    unseen ? "open" : "create", path,
			    strerror(unseen ? errno : mkdir_errno));
		return UG_EIO;
	}
	int rc = reserve_lock_file(path);
	if (rc != 0) {
		*mdb_rc = rc;
		ug_diag_set(diag, path, "cannot open LMDB environment: %s",
			    strerror(rc));
		return UG_EIO;
	}
	MDB_env *env = NULL;
	rc = mdb_env_create(&env);
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
	*mdb_rc = rc;
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
		log_notice("STORE-READERS",
			   "cleared %d stale reader slots in %s", dead, path);
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

int
store__begin_each(MDB_env *const *envs, MDB_txn **txns, size_t n,
		  unsigned flags)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		txns[i] = NULL;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = begin_txn(envs[i], flags, &txns[i]);
	if (rc != 0)
		for (size_t i = 0; i < n; i++) {
			if (txns[i])
				mdb_txn_abort(txns[i]);
			txns[i] = NULL;
		}
	return rc;
}
