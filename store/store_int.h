/*
 * Internals shared by the store module only: LMDB error mapping and small
 * helpers for the byte layouts. Nothing outside store/ includes this or
 * lmdb.h.
 */
#ifndef UG_STORE_INT_H
#define UG_STORE_INT_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"
#include "store/store.h"

/* The environment an LMDB write went to, so that a full map names the
 * setting that sizes it: ids/ is sized by log_map_mb (store_ids.c),
 * derived/ by derived_map_mb. STORE_ENV_ANY: one step wrote to several
 * (a purge) and which one failed is not known; the message names both
 * settings. */
enum store__env {
	STORE_ENV_LOG,
	STORE_ENV_IDS,
	STORE_ENV_DERIVED,
	STORE_ENV_ANY,
	STORE_ENV_OUTBOX, /* an adapter's outbox: none of the hub's maps */
	STORE_ENV_N
};

/* Map an LMDB return code to ug_err, logging foreign failures once here with
 * LMDB's own text. MDB_MAP_FULL becomes UG_EFULL, a retryable condition,
 * logged STORE-FULL at most once a minute per environment (a retry loop
 * would otherwise log it at every attempt). store__map_err is for log/. */
ug_err store__env_err(int rc, enum store__env env, const char *what);
ug_err store__map_err(int rc, const char *what);
/* A write transaction on env committed: if its map was full, say that it
 * takes writes again. */
void store__env_wrote(enum store__env env);
/* A write to env was refused for a full map since the process began. */
bool store__map_refused(enum store__env env);
/* Whether the file system under dir is (nearly) out of room. */
bool store__disk_full(const char *dir);

/* Open an environment at path with the given map size and flags, creating
 * the directory, and clear stale readers. */
ug_err store__env_open(MDB_env **out, const char *path, size_t map_mb,
		       unsigned max_dbs, unsigned flags, ug_diag *diag);
/* The same, with LMDB's own code of a failed open in *mdb_rc. */
ug_err store__env_open_rc(MDB_env **out, const char *path, size_t map_mb,
			  unsigned max_dbs, unsigned flags, ug_diag *diag,
			  int *mdb_rc);
/* Whether mdb_env_open's rc says the files are no LMDB environment this
 * library reads: overwritten, cut short, or never finished. */
bool store__env_unreadable(int rc);
/* Whether another process has the environment at path open. */
bool store__env_in_use(const char *path);
/* The store's directory, asked how much room is left when a write of
 * any environment fails (per process: hubd opens one store). */
void store__env_dir_set(const char *dir);
const char *store__env_dir(void);
/* UG_OK when the data file of env holds every page LMDB may read; else
 * UG_EMALFORMED and why ("N bytes, but its LMDB header counts M (cut
 * short)"). Reading a page past the file's end kills the process with
 * SIGBUS, so an environment opened from files a crash or a copy may
 * have cut short is checked before anything else reads it. */
ug_err store__env_whole(MDB_env *env, char *why, size_t cap);
/* The same without fsync, for ids/ and derived/: files there that are no
 * LMDB environment are emptied (logged warn under msgid, saying what
 * happens `then`) and made again, since the log rebuilds what they held. */
ug_err store__env_open_rebuilt(store *s, MDB_env **out, const char *path,
			       size_t map_mb, unsigned max_dbs,
			       const char *msgid, const char *then,
			       ug_diag *diag);

/* An ids key: the event id's first STORE_IDS_PREFIX bytes, then a keyed
 * hash of the id; legacy (format 2) keys are the hash alone. */
#define STORE_IDS_PREFIX     8
#define STORE_IDS_KEY_MAX    (STORE_IDS_PREFIX + 16)
#define STORE_IDS_LEGACY_LEN 16
size_t store__ids_key(const store *s, const uint8_t *event_id, bool legacy,
		      uint8_t out[STORE_IDS_KEY_MAX]);

/* Largest value we seal; envelopes are limited far below this by wire.h. */
#define STORE_SEAL_MAX (128 * 1024)

struct store {
	MDB_env *log_env, *derived_env, *ids_env;
	/* ids: log/ids, the event-id index of stores before format 4 */
	MDB_dbi log, ids, assign, principal, principal_id, alerts, queue;
	MDB_dbi audit, log_meta;
	MDB_dbi password; /* store_password.c */
	/* store_audit.c: signed checkpoints and the sealed head, the signer,
	 * and records queued in memory (freed once written). */
	MDB_dbi audit_ckpt;
	const uint8_t *audit_signer;
	uint64_t audit_every;
	struct store_audit_queue *audit_queue;
	MDB_dbi meta, person, rule, timer, palerts, desk;
	const uint8_t *storage_key;
	/* Keys index keys are hashed with, derived from the storage key: the
	 * files alone do not tell which records belong together. Held in
	 * sodium_malloc memory (UG_KEY_LEN), like the keys it comes from. */
	uint8_t *index_key;
	/* Per database: rate of STORE-FORGED; the writer, applier and loop
	 * threads each meet forged records. */
	_Atomic int64_t forged_logged_at[16];
	_Atomic uint64_t forged_suppressed[16];
	/* The log record a reader last stopped at for not opening, and
	 * when that was said (STORE-SEAL, once a minute per record). */
	_Atomic uint64_t seal_stop_seq;
	_Atomic int64_t seal_stop_at;
	/* Read by the loop thread while the applier thread commits. */
	_Atomic uint64_t last_applied;
	MDB_dbi ids_db, ids_meta; /* ids/: store_ids.c */
	/* The STORE-IDS notice of what ids/ indexed again, said once the
	 * transaction holding it commits (store__ids_committed). */
	char ids_indexed[300];
	/* Upgraded from format 2: some ids entries are under the hash alone.
	 */
	bool ids_legacy;
	/* Upgraded from format 2 or 3: log/ids holds the older entries. */
	bool ids_in_log;
	char upgrade_note[200]; /* what this open upgraded, else empty */
	char ahead_note[100]; /* derived/ found ahead of the log, else empty */
	void (*say)(const char *msgid, const char *text); /* store_opts */
	/* Queue entries this process removed (acknowledged, withdrawn,
	 * moved, purged); any thread. */
	_Atomic uint64_t unqueued;
};

/* The calling thread's buffer of STORE_SEAL_MAX + overhead to open and
 * seal records in (NULL when out of memory); release frees it. */
uint8_t *store__scratch(void);
/* An alert left a queue (committed): see store_alerts_unqueued. */
void store__unqueued(store *s);
void store__scratch_release(void);

struct store_dtxn {
	store *s;
	MDB_txn *txn;
};

#define ALERT_OPEN  0
#define ALERT_ACKED 1

/*
 * Domain tags for the keyed hashes: each database hashes under its own tag,
 * so one hash never equals another database's hash of the same value (a
 * queue entry cannot be joined to a person's alert list by its id hash).
 */
enum store__tag {
	TAG_IDS = 1,
	TAG_ASSIGN,
	TAG_PRINCIPAL,
	TAG_PRINCIPAL_ID,
	TAG_ALERT,
	TAG_QUEUE_RECIPIENT,
	TAG_QUEUE_ID,
	TAG_PERSON,
	TAG_PERSON_SEQ,
	TAG_RULE,
	TAG_TIMER,
	TAG_PALERTS,
	TAG_PALERTS_ID,
	TAG_DESK,
	TAG_DESK_MEMBER,
	TAG_IDS_UNTIMED, /* ids whose first 8 bytes are not a time */
};

/* out = BLAKE2b(index_key, tag | a | b) truncated to outlen (1..32). */
void store__hash(const store *s, enum store__tag tag, const void *a,
		 size_t alen, const void *b, size_t blen, uint8_t *out,
		 size_t outlen);

/* Seal plain into out (len + UG_SEAL_OVERHEAD bytes) with the storage key,
 * binding ad; and open it back (UG_EMALFORMED when it does not open). */
void store__seal(const store *s, const void *ad, size_t adlen,
		 const void *plain, size_t len, uint8_t *out);
ug_err store__open(const store *s, const void *ad, size_t adlen,
		   const void *sealed, size_t sealed_len, uint8_t *out,
		   size_t cap) __attribute__((warn_unused_result));

/* A record in db that does not open, or opens but does not belong where it
 * is stored: log STORE-FORGED (rate-limited per db, never its content). The
 * caller then treats the record as absent. */
void store__forged(store *s, enum store__tag tag, const char *db);

/* A person's pseudonym in one derived database (store__hash of the person
 * key under the database's tag): databases cannot be joined on it. */
#define STORE_PERSON_HASH 16
void store__person_hash(const store *s, enum store__tag tag,
			const uint8_t *person_key,
			uint8_t out[STORE_PERSON_HASH]);

/* The person index (derived/person) is kept in buckets of 4,096 log
 * sequences: its key is the bucket (BE32, sequence >> 12), the person's
 * hash within that bucket, and a hash of the sequence. Keyed by the person
 * alone, every event wrote one random page of a tree of millions; now a
 * batch's entries share the few pages of the newest bucket
 * (docs/PERFORMANCE.md, change 12). A person's pseudonym differs from
 * bucket to bucket, so the keys no longer link their entries either. A
 * person's entries are found with one seek per bucket: about 1.7 ms for
 * a 5 M-event log. */
#define STORE_PERSON_BUCKET_BITS 12
#define STORE_PERSON_PREFIX	 (4 + STORE_PERSON_HASH)
#define STORE_PERSON_KEY	 (STORE_PERSON_PREFIX + 8)
void store__person_index_key(const store *s, const uint8_t *person_key,
			     uint64_t seq, uint8_t out[STORE_PERSON_KEY]);

/* What store__person_walk does with each of a person's index entries. */
enum store__walk { STORE_WALK_NEXT, STORE_WALK_DELETE, STORE_WALK_STOP };
typedef enum store__walk (*store__entry_fn)(void *ctx, const MDB_val *key,
					    const MDB_val *val);
/* Call fn for each of the person's entries in the person index, bucket by
 * bucket (one cursor seek per bucket that holds entries); an LMDB code or
 * 0. A key of another length met on the way is passed over and reported
 * STORE-FORGED. */
int store__person_walk(store *s, MDB_txn *dtxn, const uint8_t *person_key,
		       store__entry_fn fn, void *ctx);

/* An alert's delivery state, sealed apart from its body. */
typedef struct {
	bool open;
	uint32_t deliveries;
	uint8_t escalations;
	char recipient[STORE_ID_MAX];
} store__alert_head;

/* Read an alert's head inside txn; *val is the stored record. UG_ENOTFOUND
 * if there is none, UG_EMALFORMED (reported) if it does not open. */
ug_err store__alert_read(store *s, MDB_txn *txn, const uint8_t *id,
			 store__alert_head *head, MDB_val *val);
/* Replace the head of the record val (from store__alert_read), keeping its
 * sealed body. */
ug_err store__alert_write_head(store *s, MDB_txn *txn, const uint8_t *id,
			       const store__alert_head *head,
			       const MDB_val *val);

/* Queue (recipient, id) for delivery, or take it off the queue (del). */
ug_err store__queue_key_put(MDB_txn *txn, store *s, const char *recipient,
			    const uint8_t *id, bool del);

/* A sealed value's plaintext length, rounded up so that sizes group
 * records coarsely instead of naming their kind. */
size_t store__padded(size_t len);

int store__begin_write(MDB_env *env, MDB_txn **txn);
int store__begin_read(MDB_env *env, MDB_txn **txn);
/* Begin a txn on each of n environments in the order given (flags 0 or
 * MDB_RDONLY): for writers the lock order derived/, ids/, log/. On
 * failure the ones begun are aborted and every txns[i] is NULL. */
int store__begin_each(MDB_env *const *envs, MDB_txn **txns, size_t n,
		      unsigned flags);

/* The log's last sequence as seen by txn (a purged top keeps its number). */
ug_err store__log_last_in(store *s, MDB_txn *txn, uint64_t *last);
/* Position cur on the log's last record, stepping back over keys that are
 * no sequence (of another length than 8: written by something else, and
 * reported STORE-FORGED log when read); MDB_NOTFOUND when none is left. */
int store__log_last_key(store *s, MDB_cursor *cur, MDB_val *key);
/* store_log_scan inside the caller's transaction on log/. */
/* store_log_scan that never passes a record over (hubctl pass-damaged): a
 * caller that wants one record gets UG_EMALFORMED for a damaged one. */
ug_err store__log_read(store *s, uint64_t from, size_t max, store_record_fn fn,
		       void *ctx, uint64_t *next);
ug_err store__log_scan_in(store *s, MDB_txn *txn, uint64_t from, size_t max,
			  store_record_fn fn, void *ctx, uint64_t *next);

/* Whether the log holds record seq and it carries event_id; a record
 * from before format 4 carries none and holds it when old_ok (an entry in
 * log/ids, which only names such records). */
bool store__log_holds(store *s, MDB_txn *ltxn, uint64_t seq,
		      const uint8_t *event_id, bool old_ok);
/* store__log_scan_in that steps over a record that does not open (logged
 * STORE-SEAL, counted in *unreadable); *more is set when max ended it
 * before the log's end. */
ug_err store__log_scan_over(store *s, MDB_txn *txn, uint64_t from, size_t max,
			    store_record_fn fn, void *ctx, uint64_t *next,
			    uint64_t *unreadable, bool *more);
/* The first record from sequence `from` on that carries event_id:
 * UG_ENOTFOUND when none does. */
ug_err store__log_find_id(store *s, MDB_txn *ltxn, uint64_t from,
			  const uint8_t *event_id, uint64_t *seq,
			  char agency[STORE_ID_MAX]);

/* ---- audit records written with the change they record, store_audit.c
 * ---- */

/* The checkpoints a write signed: logged only once it is committed. */
typedef struct {
	size_t n, cap;
	struct store__witness {
		uint64_t seq;
		uint8_t hash[STORE_AUDIT_HASH_LEN];
	} * at;
} store__audit_pending;

/* Chain the n records inside the caller's write txn on log/, so that they
 * commit with what they record or not at all (what is queued in memory
 * is left for its own write). An LMDB code. Then store__audit_done, once
 * the txn is committed (or not). */
int store__audit_in(store *s, MDB_txn *txn, const store_audit_entry *e,
		    size_t n, store__audit_pending *p);
void store__audit_done(store__audit_pending *p, bool committed);
/* Chain the record (NULL: none) in the caller's write txn on log/ and
 * commit both, or abort both: a change is never stored without its
 * record. The txn is gone when it returns. */
ug_err store__commit_audited(store *s, MDB_txn *txn,
			     const store_audit_entry *audit, const char *what);

/* Move the registration generation on inside the caller's write txn on
 * log/, so that hubd looks at registrations (and web passwords) again at
 * its next loop turn. */
ug_err store__principal_bump_generation(store *s, MDB_txn *txn);

/* Delete a caseworker's web password and notice address (either may be
 * missing) inside the caller's write txn on log/; an LMDB code. */
int store__web_access_drop_in(store *s, MDB_txn *txn, const char *caseworker);
/* Take the entry an assignment record put into the person's history out
 * of it (the entry as that record wrote it: a later correction of the
 * same start that changed it stays); counts it in *count. */
/* Delete the desk period a DeskMembership record put into derived/ (the
 * period as that record wrote it: one sent again with other values
 * stays). */
ug_err store__desk_drop(store *s, MDB_txn *dtxn, const char *desk,
			const char *caseworker, int32_t from, int32_t to,
			bool lead);
/* Delete the entry an assignment record put into the person's history
 * (the entry as that record wrote it: one a later record with the same
 * start corrected stays), or, with back_caseworker set, put back the one
 * an earlier record with that start made. */
ug_err store__assign_drop(store *s, MDB_txn *txn, const uint8_t *person_key,
			  int role, int32_t from, int32_t to,
			  const char *caseworker, const char *back_caseworker,
			  int32_t back_to, uint64_t *count);
/* Put an assignment event's period into the person's history in txn
 * (store_assign.c); a handover it drops past the history's limit is
 * named in ev->assign_dropped*. */
ug_err store__assign_put(store *s, MDB_txn *txn, store_event *ev);

/* ---- the event-id index, store_ids.c ---- */

/* Open ids/ (creating it) and index what it has not seen of the log. */
ug_err store__ids_open(store *s, const char *dir, size_t map_mb,
		       const volatile sig_atomic_t *stop, ug_diag *diag);
/* Index the records after ids/meta "indexed_through" up to last. Inside
 * the caller's write txn on ids/ and any txn on log/. */
/* Say what the ids/ transaction just ended indexed again, when it
 * committed; forget it either way. */
void store__ids_committed(store *s, bool committed);
ug_err store__ids_catch_up(store *s, MDB_txn *itxn, MDB_txn *ltxn,
			   uint64_t last);
/* Record that event_id is seq, stored by agency; UG_EEXISTS with the
 * holder's sequence and agency when the id was stored before. */
ug_err store__ids_claim(store *s, MDB_txn *itxn, MDB_txn *ltxn,
			const uint8_t *event_id, const char *agency,
			uint64_t seq, uint64_t *held_seq,
			char held[STORE_ID_MAX]);
ug_err store__ids_mark(store *s, MDB_txn *itxn, uint64_t through);
/* store_event_id_get. */
ug_err store__ids_find(store *s, const uint8_t *event_id, uint64_t *seq,
		       char agency[STORE_ID_MAX]);
/* Delete the id's entries (ids/ and log/ids); an LMDB code. */
int store__ids_delete(store *s, MDB_txn *itxn, MDB_txn *ltxn,
		      const uint8_t *event_id, uint64_t *count);

#endif
