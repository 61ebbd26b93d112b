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
#include "common/util.h"

/* Map an LMDB return code to ug_err, logging foreign failures once here with
 * LMDB's own text. MDB_MAP_FULL becomes UG_EFULL, a retryable condition. */
ug_err store__map_err(int rc, const char *what);

/* Open an environment at path with the given map size and flags, creating
 * the directory, and clear stale readers. */
ug_err store__env_open(MDB_env **out, const char *path, size_t map_mb,
                       unsigned max_dbs, unsigned flags, ug_diag *diag);

#define store__put_be64 ug_put_be64
#define store__get_be64 ug_get_be64

#endif
