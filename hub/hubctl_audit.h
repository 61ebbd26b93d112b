/*
 * hubctl's audit side: the record every writing command leaves in the
 * hub's audit trail, and the `audit verify` and `audit show` commands.
 */
#ifndef UG_HUBCTL_AUDIT_H
#define UG_HUBCTL_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/keys.h"
#include "store/store.h"

/* Load the hub's signing key if keys_dir has one, so the records hubctl
 * writes end in a signed checkpoint; without it they are chained only
 * (hubd signs a checkpoint over them when it next starts). */
void hubctl_audit_signer(store *s, ug_keys *keys);

/* Who hubctl acts as in the trail: "hubctl:USER" (the effective Unix
 * user), until admin keys say more. */
void hubctl_audit_operator(char out[STORE_ID_MAX]);

/* Record an admin action as "hubctl:USER" (the Unix user), and sign a
 * checkpoint after it when a signing key is loaded. Logs on failure;
 * returns the record's (a checkpoint not signed is only logged). For
 * most actions the action itself stands either way. */
ug_err hubctl_audit_admin(store *s, ug_keys *keys, const char *action,
			  const char *result, const uint8_t *person_key,
			  const char *detail);

/* The record of an admin change, stored in the change's own transaction
 * (the store's _audited functions), so that a change is never kept
 * without it. */
typedef struct {
	char who[STORE_ID_MAX];
	store_audit_entry e;
} hubctl_record;

/* Fill r as hubctl_audit_admin would record it; returns &r->e. detail
 * must outlive the store call. */
const store_audit_entry *
hubctl_audit_entry(hubctl_record *r, const char *action, const char *result,
		   const uint8_t *person_key, const char *detail);

/* After a change committed with its record: sign a checkpoint over it
 * when a signing key is loaded (says so on stderr when that fails; the
 * change and its record stand). */
void hubctl_audit_signed(store *s, ug_keys *keys, const hubctl_record *r);

/* A change the store refused with its record (err): record the attempt
 * `failed` with detail when there is room, and say on stderr that
 * nothing changed, `hubctl: CMD: WHY: nothing changed`. */
void hubctl_not_stored(store *s, ug_keys *keys, const char *cmd,
		       const char *action, const char *detail, ug_err err);

/* A register-*: store the registration with its record under `action`
 * (`ok`; `refused` when the key is another id's, `failed`) with `what`
 * (flags or kind) in the detail, say why on stderr when it did not stand,
 * and return the exit code (0 registered, 1 not). path: the key file. */
int hubctl_register(store *s, ug_keys *keys, const char *action, int kind,
		    const char *id, const char *public_z85, uint32_t flags,
		    const char *what, const char *path);

/* A register-* refused because the id is held by the other kind of
 * principal (a caseworker's id for a gateway, or the reverse): audit it
 * `refused` with why, say so on stderr and return 1. */
int hubctl_register_refused(store *s, ug_keys *keys, const char *action,
			    const char *id, const char *public_z85,
			    const char *what, const char *why,
			    const char *hint);

/* The detail of a revoke-* record: the id, and the key and flags it is
 * registered with until the revoke (as a register-* record names them),
 * so that the trail says which key stopped being admitted; the id alone
 * when it has no registration of `kind`. */
void hubctl_revoke_detail(store *s, int kind, const char *id,
			  char out[STORE_AUDIT_DETAIL_MAX]);

/* `hubctl audit verify|show`: the exit code (0 intact / printed, 1 broken
 * or failed, 2 usage). */
int hubctl_audit(const ug_config *cfg, store *s, ug_keys *keys,
		 const char *sub);

/* Whether `audit show`'s filter (--cpr, --from, --to) is one; says why
 * not on stderr. Checked before the store is opened, as every usage
 * error is. true for `audit verify`. */
bool hubctl_audit_usage_ok(const ug_config *cfg, const char *sub);

/* Whether `sub` is an audit subcommand hubctl knows. */
int hubctl_audit_known(const char *sub);

/* 0 when everything printed on standard output was written, else why
 * not (errno; EIO when the stream lost it): a full disk under a redirect
 * must not pass for a listing shown. */
int hubctl_stdout_error(void);

/* Called after each record printed: keeps the errno of the first write to
 * standard output that failed, which stdio forgets once it has dropped
 * what it could not write. */
void hubctl_stdout_note(void);

#endif
