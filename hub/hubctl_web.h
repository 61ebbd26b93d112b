/*
 * hubctl's web inbox commands (hubctl_web.c): register the web gateway's
 * key, set a caseworker's web password and their notice address.
 */
#ifndef UG_HUBCTL_WEB_H
#define UG_HUBCTL_WEB_H

#include "common/config.h"
#include "common/keys.h"
#include "store/store.h"

#define HUBCTL_KEY_PATH_MAX 512

/* The public key a registration of ID reads: --key, else
 * keys_dir/ID.key, named in path. UG_OK with its key in public_z85, else
 * diag says why. */
ug_err hubctl_registered_key(const ug_config *cfg, const char *id,
			     char path[HUBCTL_KEY_PATH_MAX],
			     char public_z85[UG_Z85_KEY_LEN + 1],
			     ug_diag *diag);
/* `hubctl register-gateway ID [--key FILE]`: exit code. */
int hubctl_register_gateway(const ug_config *cfg, store *s, ug_keys *keys,
			    const char *id);
/* `hubctl revoke-gateway ID`: exit code. */
int hubctl_revoke_gateway(store *s, ug_keys *keys, const char *id);
/* `hubctl set-password CASEWORKER` (the password is the first line of
 * stdin): exit code. */
int hubctl_set_password(store *s, ug_keys *keys, const char *id);
/* set-email's usage, checked before the store is opened: an ADDRESS,
 * an id, a plain address or "-"; false after saying what is wrong. */
bool hubctl_set_email_usage_ok(const char *id, const char *address);
/* `hubctl set-email ID ADDRESS` (ADDRESS "-" removes it): exit code.
 * cfg names the rules file, whose routing.desk is the desk's id. */
int hubctl_set_email(const ug_config *cfg, store *s, ug_keys *keys,
		     const char *id, const char *address);

#endif
