/*
 * One error enum for the whole project, after nng's nng_err: zero is
 * success, the rest name a failure a caller can act on. Foreign codes
 * (errno, MDB_*, zmq) are mapped once, at the boundary that sees them.
 * Human details travel separately in a ug_diag the caller supplies.
 */
#ifndef UG_ERR_H
#define UG_ERR_H

#include <stddef.h>

typedef enum {
	UG_OK = 0,
	UG_ENOMEM, /* out of memory */
	UG_EINVAL, /* invalid argument (a programmer's or operator's error) */
	UG_EIO,	   /* I/O or library failure; details were logged */
	UG_ENOTFOUND,  /* no such record */
	UG_EEXISTS,    /* record already there */
	UG_EMALFORMED, /* outside input does not parse or validate */
	UG_EDENIED,    /* key, ACL or consent refused */
	UG_EFULL,      /* store map or queue full: abort and retry later */
	UG_EAGAIN,     /* try again */
	UG_ECLOSED,    /* peer or object closed */
	UG_ETIMEDOUT,  /* deadline passed */
} ug_err;

/* Static text for an error code; never NULL. */
const char *ug_strerror(ug_err err);

/*
 * Where a human-readable failure is described: file and line of the input
 * (0 when not applicable), the field, and a reason a clerk can act on.
 * Reasons never contain personal data.
 */
typedef struct {
	char file[256];
	long line;
	char field[512];   /* also a store's directory: HUB-START names it */
	char reason[1024]; /* holds a 512-byte path (backup DIR) and why */
} ug_diag;

/* Fill a diag's field and reason (printf-style); NULL diag is allowed. */
void ug_diag_set(ug_diag *diag, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
