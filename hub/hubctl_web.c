/*
 * The web inbox's registrations. A gateway (webd) is admitted on the
 * delivery endpoint like a caseworker, flagged STORE_FLAG_GATEWAY: the hub
 * then takes nothing from it but logins and frames of the sessions it
 * opened (hub/gateway.c). Passwords are hashed here, with argon2id at
 * libsodium's interactive limits, so hubd only ever verifies.
 */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/hubctl_audit.h"
#include "hub/hubctl_web.h"
#include "hub/rules_config.h"
#include "store/store_password.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024

ug_err
hubctl_registered_key(const ug_config *cfg, const char *id,
		      char path[HUBCTL_KEY_PATH_MAX],
		      char public_z85[UG_Z85_KEY_LEN + 1], ug_diag *diag)
{
	char key_id[UG_ID_MAX];
	const char *key = ug_config_get(cfg, "key");
	if (strlen(key) >= HUBCTL_KEY_PATH_MAX) {
		/* Cut short, it would name another file. */
		ug_diag_set(diag, "key", "--key is longer than %d bytes",
			    HUBCTL_KEY_PATH_MAX - 1);
		return UG_EINVAL;
	}
	if (key[0])
		ug_strlcpy(path, key, HUBCTL_KEY_PATH_MAX);
	else
		snprintf(path, HUBCTL_KEY_PATH_MAX, "%s%s%s.key",
			 ug_config_get(cfg, "keys_dir"),
			 ug_dir_sep(ug_config_get(cfg, "keys_dir")), id);
	return ug_keys_load_public(path, key_id, public_z85, diag);
}

int
hubctl_register_gateway(const ug_config *cfg, store *s, ug_keys *keys,
			const char *id)
{
	ug_diag diag = {0};
	if (!ug_id_valid(id)) {
		char shown[UG_ID_SHOWN_MAX];
		ug_eprintf("hubctl: '%s' is not a valid id " UG_ID_RULE "\n",
			   ug_id_shown(id, shown, sizeof shown));
		return 1;
	}
	char path[HUBCTL_KEY_PATH_MAX], public_z85[UG_Z85_KEY_LEN + 1];
	if (hubctl_registered_key(cfg, id, path, public_z85, &diag) != UG_OK) {
		ug_eprintf("hubctl: cannot read the public key: %s\n",
			   diag.reason);
		return 1;
	}
	/* A caseworker's id is not taken over: the gateway would inherit
	 * the caseworker's alerts and assignments by name. */
	uint32_t flags = 0;
	if (store_principal_flags(s, STORE_CASEWORKER, id, &flags) == UG_OK &&
	    !(flags & STORE_FLAG_GATEWAY))
		return hubctl_register_refused(
		    s, keys, "register-gateway", id, public_z85, "gateway",
		    "is a registered caseworker",
		    "; a gateway needs an id of its own");
	if (hubctl_register(s, keys, "register-gateway", STORE_CASEWORKER, id,
			    public_z85, STORE_FLAG_GATEWAY, "gateway", path))
		return 1;
	ug_oprintf("registered gateway %s (key %.8s...)\n", id, public_z85);
	return 0;
}

int
hubctl_revoke_gateway(store *s, ug_keys *keys, const char *id)
{
	uint32_t flags = 0;
	if (store_principal_flags(s, STORE_CASEWORKER, id, &flags) != UG_OK ||
	    !(flags & STORE_FLAG_GATEWAY)) {
		/* Recorded like revoke-agency's and revoke-caseworker's: an
		 * attempt on an id that is not there is the auditor's too. */
		hubctl_audit_admin(s, keys, "revoke-gateway", "not-found",
				   NULL, id);
		ug_eprintf("hubctl: revoke: no gateway '%s' is "
			   "registered\n",
			   id);
		return 1;
	}
	char detail[STORE_AUDIT_DETAIL_MAX];
	hubctl_revoke_detail(s, STORE_CASEWORKER, id, detail);
	hubctl_record r;
	ug_err err = store_principal_revoke_audited(
	    s, STORE_CASEWORKER, id,
	    hubctl_audit_entry(&r, "revoke-gateway", "ok", NULL, detail));
	if (err != UG_OK) {
		hubctl_not_stored(s, keys, "revoke", "revoke-gateway", detail,
				  err);
		return 1;
	}
	hubctl_audit_signed(s, keys, &r);
	ug_oprintf("revoked gateway %s\n", id);
	return 0;
}

/* The terminal's settings before echo was turned off, put back however
 * the program ends: Ctrl-C at the prompt must not leave the operator's
 * shell without echo. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_quiet;

static void
restore_tty(void)
{
	if (tty_quiet) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		tty_quiet = 0;
	}
}

static void
restore_tty_and_die(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Typed at a terminal, a password would be shown on the screen (and
 * hubctl would wait without a word): ask for it, without echo. */
static void
quiet_tty(const char *id)
{
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) != 0)
		return;
	struct termios quiet = saved_tty;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	signal(SIGINT, restore_tty_and_die);
	signal(SIGTERM, restore_tty_and_die);
	signal(SIGHUP, restore_tty_and_die);
	signal(SIGQUIT, restore_tty_and_die);
	fprintf(stderr, "password for %s (8-1024 bytes, not shown): ", id);
	fflush(stderr);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0)
		tty_quiet = 1;
}

/* The first line of stdin, without its line break, in guarded memory;
 * *nul set if it holds a NUL byte. NULL with *len 0 when stdin cannot be
 * read (errno says why). */
static char *
read_password(const char *id, size_t *len, bool *nul)
{
	/* Room for the longest password, a CR and the NUL. */
	char *buf = sodium_malloc(PASSWORD_MAX + 2);
	if (!buf)
		return NULL;
	size_t n = 0;
	bool over = false, begun = false;
	int c;
	*nul = false;
	bool asked = isatty(STDIN_FILENO);
	quiet_tty(id);
	/* Byte by byte: a NUL byte would end a line read as a string, and
	 * the password would be refused for a length it does not have. */
	while ((c = getc(stdin)) != EOF && c != '\n') {
		if (c == '\0')
			*nul = true;
		if (n < PASSWORD_MAX + 1)
			buf[n++] = (char)c;
		else
			over = true;
		/* A file saved by Notepad begins with a byte order mark,
		 * which no one can type in the login form: kept, the
		 * password would never log in. */
		if (!begun && n == 3) {
			begun = true;
			if (memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
				n = 0;
		}
	}
	int read_errno = ferror(stdin) ? errno : 0;
	restore_tty();
	if (asked)
		fputc('\n', stderr);
	if (read_errno) {
		sodium_free(buf);
		errno = read_errno;
		*len = 0;
		return NULL;
	}
	/* A CRLF line end is no part of it; a CR inside the line is. */
	if (!over && n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = over ? PASSWORD_MAX + 1 : n; /* longer than the limit */
	return buf;
}

/* A refusal is recorded like the change it refused: an operator's
 * attempt on someone's credentials is evidence too. */
static void
refused(store *s, ug_keys *keys, const char *action, const char *id,
	const char *why)
{
	char detail[STORE_AUDIT_DETAIL_MAX];
	snprintf(detail, sizeof detail, "%.63s: %s", id, why);
	hubctl_audit_admin(s, keys, action, "failed", NULL, detail);
}

int
hubctl_set_password(store *s, ug_keys *keys, const char *id)
{
	uint32_t flags = 0;
	if (store_principal_flags(s, STORE_CASEWORKER, id, &flags) != UG_OK ||
	    (flags & STORE_FLAG_GATEWAY)) {
		refused(s, keys, "set-password", id,
			"not a registered caseworker");
		ug_eprintf(
		    "hubctl: set-password: '%s' is not a "
		    "registered caseworker (hubctl register-caseworker)\n",
		    id);
		return 1;
	}
	size_t len = 0;
	bool nul = false;
	errno = 0;
	char *password = read_password(id, &len, &nul);
	if (!password) {
		int why = errno ? errno : ENOMEM;
		refused(s, keys, "set-password", id,
			"standard input could not be read");
		ug_eprintf("hubctl: set-password: cannot read standard input: "
			   "%s\n",
			   strerror(why));
		return 1;
	}
	int rc = 1;
	char hash[crypto_pwhash_STRBYTES];
	if (nul) {
		refused(s, keys, "set-password", id,
			"the password holds a NUL byte");
		ug_eprintf("hubctl: set-password: the password (the first "
			   "line of standard input) holds a NUL byte\n");
		goto done;
	}
	if (len < PASSWORD_MIN || len > PASSWORD_MAX) {
		refused(s, keys, "set-password", id,
			"the password's length is out of bounds");
		ug_eprintf("hubctl: set-password: the password (the first "
			   "line of standard input) must be %d to %d bytes\n",
			   PASSWORD_MIN, PASSWORD_MAX);
		goto done;
	}
	/* The login form sends UTF-8: a password in another encoding (a
	 * Latin-1 terminal) would be set, yet no browser could type it. */
	if (!ug_utf8_valid(password, len)) {
		refused(s, keys, "set-password", id,
			"the password is not UTF-8");
		ug_eprintf("hubctl: set-password: the password (the first "
			   "line of standard input) is not UTF-8 text, as "
			   "the login form sends it\n");
		goto done;
	}
	if (crypto_pwhash_str(hash, password, len,
			      crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		ug_eprintf("hubctl: set-password: out of memory hashing "
			   "the password\n");
		goto done;
	}
	hubctl_record r;
	ug_err err = store_password_put_audited(
	    s, id, hash, ug_now_ms(),
	    hubctl_audit_entry(&r, "set-password", "ok", NULL, id));
	if (err != UG_OK) {
		hubctl_not_stored(s, keys, "set-password", "set-password", id,
				  err);
		goto done;
	}
	hubctl_audit_signed(s, keys, &r);
	ug_oprintf("password set for %s; their open web sessions end\n", id);
	rc = 0;
done:
	sodium_memzero(hash, sizeof hash);
	sodium_free(password);
	return rc;
}

/* A bare addr-spec, nothing a header could be split or widened with:
 * printable ASCII without spaces, quotes, brackets, commas or
 * semicolons, one @ with text on both sides. */
static bool
address_ok(const char *a)
{
	size_t len = strlen(a);
	const char *at = strchr(a, '@');
	if (len < 3 || len >= STORE_EMAIL_MAX || !at || at == a || !at[1] ||
	    strchr(at + 1, '@') || a[0] == '-')
		return false;
	for (const char *p = a; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("\"(),:;<>[\\]", *p))
			return false;
	return true;
}

/* Whether alerts can be raised for id: a registered caseworker (not the
 * gateway) or the desk's id. An address stored for any other id would
 * never be used, and a typo would go unnoticed. 1 yes, 0 no, -1 the
 * rules file does not load. */
static int
recipient_known(const ug_config *cfg, store *s, const char *id)
{
	uint32_t flags = 0;
	if (store_principal_flags(s, STORE_CASEWORKER, id, &flags) == UG_OK)
		return !(flags & STORE_FLAG_GATEWAY);
	rules_config *rules = malloc(sizeof *rules);
	if (!rules)
		return -1;
	rules_config_defaults(rules);
	const char *path = ug_config_get(cfg, "rules");
	ug_diag diag = {0};
	int known = -1;
	if (path[0] && rules_config_load(rules, path, &diag) != UG_OK)
		ug_eprintf("hubctl: set-email: %s\n", diag.reason);
	else
		known = strcmp(id, rules->desk) == 0;
	free(rules);
	return known;
}

bool
hubctl_set_email_usage_ok(const char *id, const char *address)
{
	if (!address) {
		ug_eprintf("hubctl: set-email: missing ADDRESS (or - to "
			   "remove it)\n");
		return false;
	}
	if (!ug_id_valid(id)) {
		ug_eprintf("hubctl: set-email: '%s' is not an id\n", id);
		return false;
	}
	if (strcmp(address, "-") != 0 && !address_ok(address)) {
		ug_eprintf("hubctl: set-email: '%s' is not a plain "
			   "address (name@example.dk)\n",
			   address);
		return false;
	}
	return true;
}

int
hubctl_set_email(const ug_config *cfg, store *s, ug_keys *keys, const char *id,
		 const char *address)
{
	if (!hubctl_set_email_usage_ok(id, address))
		return 2;
	hubctl_record r;
	if (strcmp(address, "-") == 0) {
		ug_err err = store_email_delete_audited(
		    s, id,
		    hubctl_audit_entry(&r, "set-email", "removed", NULL, id));
		if (err == UG_ENOTFOUND) {
			refused(s, keys, "set-email", id,
				"no address to remove");
			ug_eprintf("hubctl: set-email: %s has no "
				   "address\n",
				   id);
			return 1;
		}
		if (err != UG_OK) {
			hubctl_not_stored(s, keys, "set-email", "set-email",
					  id, err);
			return 1;
		}
		hubctl_audit_signed(s, keys, &r);
		ug_oprintf("no more e-mail notices for %s\n", id);
		return 0;
	}
	int known = recipient_known(cfg, s, id);
	if (known <= 0) {
		refused(s, keys, "set-email", id,
			known == 0 ? "neither a registered caseworker nor "
				     "the desk's id"
				   : "the rules file does not load");
		if (known == 0)
			ug_eprintf("hubctl: set-email: '%s' is neither a "
				   "registered caseworker (hubctl "
				   "register-caseworker) nor the desk's id "
				   "(routing.desk)\n",
				   id);
		return 1;
	}
	/* The address is personal data of a kind: the trail names the id. */
	ug_err err = store_email_put_audited(
	    s, id, address,
	    hubctl_audit_entry(&r, "set-email", "ok", NULL, id));
	if (err != UG_OK) {
		hubctl_not_stored(s, keys, "set-email", "set-email", id, err);
		return 1;
	}
	hubctl_audit_signed(s, keys, &r);
	ug_oprintf("e-mail notices of new alerts for %s go to %s\n", id,
		   address);
	return 0;
}
