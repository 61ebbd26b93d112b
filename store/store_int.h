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

/* Map an LMDB return code to ug_err, logging foreign failures once here with
 * LMDB's own text. MDB_MAP_FULL becomes UG_EFULL, a retryable condition. */
ug_err store__map_err(int rc, const char *what);

/* Open an environment at path with the given map size and flags, creating
 * the directory, and clear stale readers. */
ug_err store__env_open(MDB_env **out, const char *path, size_t map_mb,
                       unsigned max_dbs, unsigned flags, ug_diag *diag);

static inline void
store__put_be64(uint8_t *out, uint64_t value)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)value;
		value >>= 8;
	}
}

static inline uint64_t
store__get_be64(const uint8_t *in)
{
	uint64_t value = 0;
	for (int i = 0; i < 8; i++)
		value = value << 8 | in[i];
	return value;
}

#endif
