/*
 * Internals shared by the store module only: LMDB error mapping and small helpers
 * for the byte layouts. Nothing outside store/ includes this or lmdb.h.
 */
#ifndef UG_STORE_INT_H
#define UG_STORE_INT_H

#include <lmdb.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "store/store.h"
#include "common/util.h"

/* Map an LMDB return code to ug_err, logging foreign failures once here with
 * LMDB's own text. MDB_MAP_FULL becomes UG_EFULL, a retryable condition. */
ug_err store__map_err(int rc, const char *what);

/* Open an environment at path with the given map size and flags, creating
 * the directory, and clear stale readers. */
ug_err store__env_open(MDB_env **out, const char *path, size_t map_mb,
                       unsigned max_dbs, unsigned flags, ug_diag *diag);

/* Largest value we seal; envelopes are limited far below this by wire.h. */
#define STORE_SEAL_MAX (128 * 1024)

struct store {
	MDB_env *log_env, *derived_env;
	MDB_dbi log, ids, assign, principal, principal_id, alerts, queue;
	MDB_dbi audit;
	MDB_dbi audit_ckpt;
	const uint8_t *audit_signer;
	uint64_t audit_every;
	struct store_audit_queue *audit_queue;
	MDB_dbi meta, person, rule, timer, palerts, desk;
	const uint8_t *storage_key;
	uint64_t last_applied;
	uint8_t *scratch; /* STORE_SEAL_MAX + overhead: sealing buffer */
};

struct store_dtxn {
	store *s;
	MDB_txn *txn;
};

#define ALERT_OPEN 0
#define ALERT_ACKED 1
#define ALERT_HEADER 7 /* state, deliveries BE32, escalations, rlen */

ug_err store__queue_key_put(MDB_txn *txn, store *s, const char *recipient,
                            const uint8_t *id, bool del);

int store__begin_write(MDB_env *env, MDB_txn **txn);
int store__begin_read(MDB_env *env, MDB_txn **txn);

#endif
