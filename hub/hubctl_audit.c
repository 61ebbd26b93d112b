/*
 * hubctl audit verify / show, and the admin records hubctl writes. Verify
 * checks the signatures against keys_dir/hub.sign_public, never against a
 * key found in the store. Show decrypts for the operator only; --cpr is
 * turned into the person key here and is neither stored nor printed.
 */
#include "hub/hubctl_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/util.h"
#include "store/store_password.h"

void
hubctl_audit_operator(char out[STORE_ID_MAX])
{
	struct passwd *pw = getpwuid(geteuid());
	if (pw && pw->pw_name)
		snprintf(out, STORE_ID_MAX, "hubctl:%.50s", pw->pw_name);
	else
		snprintf(out, STORE_ID_MAX, "hubctl:uid=%u",
			 (unsigned)geteuid());
}

void
hubctl_audit_signer(store *s, ug_keys *keys)
{
	ug_diag diag = {0};
	if (ug_keys_load_signing(keys, false, &diag) == UG_OK)
		store_audit_signer(s, keys->sign_secret,
				   STORE_AUDIT_CHECKPOINT_EVERY);
}

ug_err
hubctl_audit_admin(store *s, ug_keys *keys, const char *action,
		   const char *result, const uint8_t *person_key,
		   const char *detail)
{
	char who[STORE_ID_MAX];
	hubctl_audit_operator(who);
	store_audit_entry e = {ug_now_ms(), who,	NULL,  action,
			       result,	    person_key, detail};
	ug_err err = store_audit_write(s, &e, 1);
	if (err != UG_OK) {
		ug_eprintf("hubctl: %s was not recorded in the audit "
			   "trail: %s\n",
			   action, ug_strerror(err));
		return err;
	}
	/* Recorded: a checkpoint not signed now is signed with the next
	 * record, by hubd or hubctl. */
	ug_err signed_err =
	    keys->sign_secret ? store_audit_checkpoint(s, e.at) : UG_OK;
	if (signed_err != UG_OK)
		ug_eprintf("hubctl: the %s record was not signed into a "
			   "checkpoint: %s\n",
			   action, ug_strerror(signed_err));
	return UG_OK;
}

int
hubctl_audit_known(const char *sub)
{
	return sub && (strcmp(sub, "verify") == 0 || strcmp(sub, "show") == 0);
}

static int
verify(const ug_config *cfg, store *s)
{
	char path[512];
	uint8_t pk[UG_SIGN_PUBLIC_LEN];
	ug_diag diag = {0};
	snprintf(path, sizeof path, "%s%shub.sign_public",
		 ug_config_get(cfg, "keys_dir"),
		 ug_dir_sep(ug_config_get(cfg, "keys_dir")));
	if (ug_keys_load_sign_public(path, pk, &diag) != UG_OK) {
		printf("audit trail NOT VERIFIED: cannot read the signing "
		       "public key: %s\n",
		       diag.reason);
		return 1;
	}
	store_audit_report r;
	ug_err err = store_audit_verify(s, pk, &r);
	if (err != UG_OK) {
		printf("audit trail NOT VERIFIED: cannot read it: %s\n",
		       ug_strerror(err));
		return 1;
	}
	if (r.broken_seq) {
		printf("audit trail BROKEN at record %llu: %s\n",
		       (unsigned long long)r.broken_seq, r.problem);
		printf("%llu problem%s in all; %llu records, %llu "
		       "checkpoints\n",
		       (unsigned long long)r.problems,
		       r.problems == 1 ? "" : "s",
		       (unsigned long long)r.records,
		       (unsigned long long)r.checkpoints);
		return 1;
	}
	printf(
	    "audit trail intact: %llu records, %llu signed checkpoints "
	    "(last at record %llu), head at record %llu\n",
	    (unsigned long long)r.records, (unsigned long long)r.checkpoints,
	    (unsigned long long)r.last_checkpoint, (unsigned long long)r.head);
	if (r.checkpoints) {
		char hex[2 * STORE_AUDIT_HASH_LEN + 1];
		ug_hex(r.last_checkpoint_hash, STORE_AUDIT_HASH_LEN, hex);
		printf("last checkpoint: record %llu, head %s\n",
		       (unsigned long long)r.last_checkpoint, hex);
	}
	if (r.records > r.last_checkpoint)
		printf("records %llu..%llu come after the last checkpoint: "
		       "chained and sealed, not yet signed\n",
		       (unsigned long long)r.last_checkpoint + 1,
		       (unsigned long long)r.records);
	return 0;
}

typedef struct {
	bool json, by_person;
	uint8_t person_key[UG_PERSON_KEY_LEN];
	const char *key, *actor;
	int64_t from, to; /* ms, [from, to) */
	uint64_t shown;
	uint64_t read; /* the last record read, shown or not */
	uint64_t done; /* the last record shown whole, or passed over */
	bool interrupted;
} show_ctx;

static void
json_string(const char *text)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* One object a line, also to a reader that takes a C1
			 * control (U+0085) for a line break. */
			printf("\\u%04x", p[1]);
			p++;
		} else
			putchar(*p);
	}
	putchar('"');
}

/* A detail holds what a caseworker typed (an acknowledgement's note):
 * one record must stay one line, or a note with a line break could show
 * the auditor records that are not in the trail. */
static void
text_field(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", stdout);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* A C1 control (U+0085 is a line break to many a
			 * reader, U+009B a terminal's command start). */
			printf("\\xc2\\x%02x", p[1]);
			p++;
		} else
			putchar(*p);
	}
}

static void
format_time(int64_t ms, char out[32])
{
	int32_t day = (int32_t)(ms >= 0 ? ms / UG_DAY_MS
					: (ms - UG_DAY_MS + 1) / UG_DAY_MS);
	int64_t in_day = (ms - (int64_t)day * UG_DAY_MS) / 1000;
	char date[11];
	ug_date_format(day, date);
	snprintf(out, 32, "%sT%02d:%02d:%02dZ", date, (int)(in_day / 3600),
		 (int)(in_day / 60 % 60), (int)(in_day % 60));
}

/* Ctrl-C, SIGTERM or SIGHUP (a pager quit with Ctrl-C, a closed
 * terminal) would end hubctl before the show is recorded, after it
 * disclosed what it printed: they end the listing instead. */
static volatile sig_atomic_t show_signal;
static int show_null_fd = -1;

static void
stop_show(int sig)
{
	show_signal = sig;
	/* A write about to wait on a pipe no one reads would wait for ever
	 * (only one already waiting is cut short): the rest goes nowhere. */
	if (show_null_fd >= 0)
		dup2(show_null_fd, STDOUT_FILENO);
}

static void
on_stop_signals(void (*handler)(int))
{
	struct sigaction sa = {.sa_handler = handler};
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a write blocked on a pipe no one reads returns. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* A record counts as shown once its line left hubctl whole. Into a pipe
 * its reader stopped reading (a pager), what stdio still held when the
 * signal came never reaches the reader (it goes to /dev/null, above), so
 * the count and "interrupted after record N" are to say what the reader
 * has: the line of the record being written when it came is not. */
static ug_err
show_written(show_ctx *c, uint64_t seq)
{
	fflush(stdout);
	hubctl_stdout_note();
	if (show_signal) {
		c->interrupted = true;
		return UG_ECLOSED;
	}
	c->shown++;
	c->done = seq;
	return UG_OK;
}

static ug_err
show_one(void *ctx, const store_audit_record *r)
{
	show_ctx *c = ctx;
	if (show_signal) {
		c->interrupted = true;
		return UG_ECLOSED;
	}
	c->read = r->seq;
	if ((c->by_person &&
	     (!r->has_person || sodium_memcmp(r->person_key, c->person_key,
					      UG_PERSON_KEY_LEN) != 0)) ||
	    (c->key[0] && strncmp(r->key, c->key, strlen(c->key)) != 0) ||
	    (c->actor[0] && strcmp(r->actor, c->actor) != 0) ||
	    r->at < c->from || r->at >= c->to) {
		c->done = r->seq;
		return UG_OK;
	}
	char when[32], person[2 * UG_PERSON_KEY_LEN + 1] = "";
	format_time(r->at, when);
	if (r->has_person)
		ug_hex(r->person_key, UG_PERSON_KEY_LEN, person);
	if (!c->json) {
		/* Each column as wide as the longest value the hub writes
		 * in it (action register-caseworker, result already-known,
		 * "person" and 12 hex digits), blanks where a record has
		 * none: the columns line up from one record to the next,
		 * and an action with a blank ("action refused") is read by
		 * its place (OPERATIONS.md, "The audit trail"). */
		char about[2 * UG_PERSON_KEY_LEN + 16] = "";
		if (person[0])
			snprintf(about, sizeof about, "person %.12s", person);
		printf("%8llu  %s  %-18s %-19s %-13s %-10.10s %-19s ",
		       (unsigned long long)r->seq, when, r->actor, r->action,
		       r->result[0] ? r->result : "-",
		       r->key[0] ? r->key : "-", about);
		text_field(r->detail);
		putchar('\n');
		return show_written(c, r->seq);
	}
	printf("{\"seq\": %llu, \"at\": %lld, \"time\": \"%s\", \"actor\": ",
	       (unsigned long long)r->seq, (long long)r->at, when);
	json_string(r->actor);
	printf(", \"key\": ");
	json_string(r->key);
	printf(", \"action\": ");
	json_string(r->action);
	printf(", \"result\": ");
	json_string(r->result);
	printf(", \"person\": ");
	json_string(person);
	printf(", \"detail\": ");
	json_string(r->detail);
	printf("}\n");
	return show_written(c, r->seq);
}

/* --from/--to as UTC days; a bad date is a usage error. */
static bool
day_option(const ug_config *cfg, const char *name, int64_t *ms, int64_t dflt,
	   int add_days)
{
	const char *text = ug_config_get(cfg, name);
	int32_t day;
	/* Given empty (--from "$START" with the variable unset) it is no
	 * date, as --cpr "" is no CPR: not a period left open by a typo. */
	if (!text[0] && !ug_config_given(cfg, name) &&
	    !ug_config_where(cfg, name)[0]) {
		*ms = dflt;
		return true;
	}
	if (ug_date_parse(text, &day) != UG_OK) {
		ug_eprintf("hubctl: %s--%s must be a date, YYYY-MM-DD\n",
			   ug_config_where(cfg, name), name);
		return false;
	}
	*ms = ((int64_t)day + add_days) * UG_DAY_MS;
	return true;
}

/* The filter of `audit show`: false (a usage error, said on stderr)
 * for a bad CPR or date or a reversed period. keys NULL: checked only,
 * before the store is opened. */
static bool
show_filter(const ug_config *cfg, const ug_keys *keys, show_ctx *c)
{
	const char *cpr = ug_config_get(cfg, "cpr");
	/* --cpr "" (an unset variable) is no person: as export and erase
	 * refuse it, so does the question of who read a person's data,
	 * which would otherwise be answered with the whole trail. */
	/* A `cpr =` line left empty in a --config file asks as little. */
	if (cpr[0] || ug_config_given(cfg, "cpr") ||
	    ug_config_where(cfg, "cpr")[0]) {
		char norm[11];
		const char *why;
		if (ug_cpr_parse(cpr, strlen(cpr), norm, &why) != UG_OK) {
			ug_eprintf("hubctl: %s--cpr: %s\n",
				   ug_config_where(cfg, "cpr"), why);
			return false;
		}
		if (keys)
			ug_person_key(keys->hash_key, norm, c->person_key);
		sodium_memzero(norm, sizeof norm);
		c->by_person = true;
	}
	/* The filter is kept in the show's own record, which --cpr ties to
	 * the person: bytes that are not UTF-8 there would make their
	 * export, and audit show --json, invalid. No id or key has any. */
	static const char *const texts[] = {"actor", "key"};
	for (size_t i = 0; i < 2; i++) {
		const char *v = ug_config_get(cfg, texts[i]);
		/* Empty (an unset variable) would show everyone's records,
		 * as --cpr "" would: no filter is left out by a typo. */
		if (!v[0] && (ug_config_given(cfg, texts[i]) ||
			      ug_config_where(cfg, texts[i])[0])) {
			ug_eprintf("hubctl: %saudit show: --%s is empty\n",
				   ug_config_where(cfg, texts[i]), texts[i]);
			return false;
		}
		if (!ug_utf8_valid(v, strlen(v))) {
			ug_eprintf("hubctl: %saudit show: --%s must be UTF-8 "
				   "text\n",
				   ug_config_where(cfg, texts[i]), texts[i]);
			return false;
		}
	}
	/* --to names the last day shown, so it counts to the day's end. */
	if (!day_option(cfg, "from", &c->from, INT64_MIN, 0) ||
	    !day_option(cfg, "to", &c->to, INT64_MAX, 1))
		return false;
	/* An empty period is a typo, not a question whose answer is
	 * "nothing": the same rule as report's. */
	if (c->from >= c->to) {
		ug_eprintf("hubctl: audit show: --from %s is after --to "
			   "%s\n",
			   ug_config_get(cfg, "from"),
			   ug_config_get(cfg, "to"));
		return false;
	}
	return true;
}

bool
hubctl_audit_usage_ok(const ug_config *cfg, const char *sub)
{
	show_ctx c = {0};
	return strcmp(sub, "show") != 0 || show_filter(cfg, NULL, &c);
}

/* A listing longer than stdout's buffer fails at a write in its middle;
 * stdio then drops the buffer and keeps only its error flag, so the
 * final flush succeeds and the reason would be lost. */
static int stdout_errno;

void
hubctl_stdout_note(void)
{
	if (!stdout_errno && ferror(stdout))
		stdout_errno = errno ? errno : EIO;
}

int
hubctl_stdout_error(void)
{
	errno = 0;
	int flushed = fflush(stdout);
	int why = errno;
	if (stdout_errno)
		return stdout_errno;
	if (flushed != 0)
		return why ? why : EIO;
	return ferror(stdout) ? EIO : 0;
}

static int
show(const ug_config *cfg, store *s, ug_keys *keys)
{
	show_ctx c = {.json = ug_config_bool(cfg, "json"),
		      .key = ug_config_get(cfg, "key"),
		      .actor = ug_config_get(cfg, "actor")};
	if (!show_filter(cfg, keys, &c))
		return 2;
	show_null_fd = open("/dev/null", O_WRONLY);
	on_stop_signals(stop_show);
	ug_err err = store_audit_scan(s, 1, show_one, &c);
	/* The last lines may wait for their reader: still interruptible. */
	int werr = hubctl_stdout_error();
	/* Recording it is not to be cut short by a second Ctrl-C. */
	on_stop_signals(SIG_IGN);
	if (show_signal)
		c.interrupted = true; /* also during the last lines' output */
	if (c.interrupted)
		err = UG_OK;
	if (err != UG_OK)
		ug_eprintf("hubctl: reading the audit trail stopped after "
			   "record %llu: %s (run hubctl audit verify)\n",
			   (unsigned long long)c.read, ug_strerror(err));
	/* Reading the trail discloses it: that is recorded too, with the
	 * filter (the person key, never the CPR) — also when a record that
	 * does not open cut it short, since those before it were shown. */
	char detail[STORE_AUDIT_DETAIL_MAX];
	const char *from = ug_config_get(cfg, "from"),
		   *to = ug_config_get(cfg, "to");
	char stop[128] = "";
	if (err != UG_OK)
		snprintf(stop, sizeof stop,
			 "; reading stopped after record %llu",
			 (unsigned long long)c.read);
	if (c.interrupted) {
		/* What the interruption cut off is no failure of the output,
		 * and what is still buffered is not to be waited for at exit
		 * by a pipe no one reads. */
		werr = 0;
		if (show_null_fd >= 0)
			dup2(show_null_fd, STDOUT_FILENO);
		ug_eprintf("hubctl: audit show: interrupted after record "
			   "%llu\n",
			   (unsigned long long)c.done);
		snprintf(stop, sizeof stop, "; interrupted after record %llu",
			 (unsigned long long)c.done);
	} else if (werr) {
		ug_eprintf("hubctl: audit show: cannot write standard output: "
			   "%s\n",
			   strerror(werr));
		snprintf(stop + strlen(stop), sizeof stop - strlen(stop),
			 "; output failed (%s)", strerror(werr));
	}
	/* The record keeps the filter's first bytes only: a CPR typed where
	 * that cut falls would leave its birth date behind, too short to be
	 * masked as a number once cut, and a character cut in half would
	 * turn into '?'. So mask first, then cut at a character's end. */
	char key[40 + 1], actor[63 + 1], masked[128];
	ug_strlcpy(masked, c.key, sizeof masked);
	ug_cpr_mask(masked);
	ug_strlcpy(key, masked, sizeof key);
	ug_utf8_trim_tail(key);
	ug_strlcpy(masked, c.actor, sizeof masked);
	ug_cpr_mask(masked);
	ug_strlcpy(actor, masked, sizeof actor);
	ug_utf8_trim_tail(actor);
	snprintf(detail, sizeof detail,
		 "%llu records shown%s%s%s%s%s%.10s%s%.10s%s",
		 (unsigned long long)c.shown, key[0] ? " key " : "", key,
		 actor[0] ? " actor " : "", actor, from[0] ? " from " : "",
		 from, to[0] ? " to " : "", to, stop);
	if (show_null_fd >= 0)
		close(show_null_fd);
	show_null_fd = -1;
	bool ok = err == UG_OK && !werr && !c.interrupted;
	hubctl_audit_admin(s, keys, "audit-show", ok ? "ok" : "failed",
			   c.by_person ? c.person_key : NULL, detail);
	return ok ? 0 : 1;
}

const store_audit_entry *
hubctl_audit_entry(hubctl_record *r, const char *action, const char *result,
		   const uint8_t *person_key, const char *detail)
{
	hubctl_audit_operator(r->who);
	r->e = (store_audit_entry){ug_now_ms(), r->who,	    NULL,  action,
				   result,	person_key, detail};
	return &r->e;
}

void
hubctl_audit_signed(store *s, ug_keys *keys, const hubctl_record *r)
{
	if (!keys->sign_secret)
		return;
	ug_err err = store_audit_checkpoint(s, r->e.at);
	if (err != UG_OK)
		ug_eprintf("hubctl: the %s record was not signed into a "
			   "checkpoint: %s\n",
			   r->e.action, ug_strerror(err));
}

void
hubctl_not_stored(store *s, ug_keys *keys, const char *cmd, const char *action,
		  const char *detail, ug_err err)
{
	hubctl_audit_admin(s, keys, action, "failed", NULL, detail);
	ug_eprintf("hubctl: %s: %s: nothing changed\n", cmd,
		   err == UG_EFULL ? "the store is full (log_map_mb)"
				   : ug_strerror(err));
}

int
hubctl_register(store *s, ug_keys *keys, const char *action, int kind,
		const char *id, const char *public_z85, uint32_t flags,
		const char *what, const char *path)
{
	ug_diag diag = {0};
	char detail[STORE_AUDIT_DETAIL_MAX];
	snprintf(detail, sizeof detail, "%s key %.*s... %s", id,
		 UG_Z85_KEY_SHOWN, public_z85, what);
	hubctl_record r;
	/* The hub's own key (its hub.key given by mistake) belongs to the
	 * hub, as its id does: registered, it would admit no agency or
	 * caseworker, only whoever holds hub.key_secret. */
	ug_err err = UG_EEXISTS;
	if (strcmp(public_z85, keys->public_z85) == 0)
		ug_diag_set(&diag, "key", "the key is the hub's own");
	else
		err = store_principal_put_audited(
		    s, kind, id, public_z85, flags,
		    hubctl_audit_entry(&r, action, "ok", NULL, detail), &diag);
	if (err == UG_OK) {
		hubctl_audit_signed(s, keys, &r);
		return 0;
	}
	if (err != UG_EEXISTS) {
		hubctl_not_stored(s, keys, "register", action, detail, err);
		return 1;
	}
	snprintf(detail, sizeof detail, "%s key %.*s... %s: %.160s", id,
		 UG_Z85_KEY_SHOWN, public_z85, what, diag.reason);
	hubctl_audit_admin(s, keys, action, "refused", NULL, detail);
	/* The holder may be this very id as another kind: name the kind,
	 * or "ID is not registered" would contradict the line's start. */
	const char *kind_word = action + strlen("register-");
	ug_eprintf("hubctl: register: %s (%s): %s %s is not registered; a "
		   "key identifies one registration, so give %s %s a key of "
		   "its own\n",
		   diag.reason, path, kind_word, id, kind_word, id);
	return 1;
}

void
hubctl_revoke_detail(store *s, int kind, const char *id,
		     char out[STORE_AUDIT_DETAIL_MAX])
{
	char public_z85[UG_Z85_KEY_LEN + 1];
	uint32_t flags = 0;
	if (store_principal_current(s, kind, id, public_z85, &flags) !=
	    UG_OK) {
		snprintf(out, STORE_AUDIT_DETAIL_MAX, "%s", id);
		return;
	}
	/* An agency's flags are its event types: bit 1 is no gateway. */
	if (kind == STORE_CASEWORKER && (flags & STORE_FLAG_GATEWAY))
		snprintf(out, STORE_AUDIT_DETAIL_MAX, "%s key %.8s... gateway",
			 id, public_z85);
	else
		snprintf(out, STORE_AUDIT_DETAIL_MAX,
			 "%s key %.8s... flags 0x%x", id, public_z85,
			 (unsigned)flags);
}

int
hubctl_register_refused(store *s, ug_keys *keys, const char *action,
			const char *id, const char *public_z85,
			const char *what, const char *why, const char *hint)
{
	/* As a key registered to another id is: the attempt is the
	 * auditor's even though nothing changed. */
	char detail[STORE_AUDIT_DETAIL_MAX];
	snprintf(detail, sizeof detail, "%s key %.8s... %s: '%s' %s", id,
		 public_z85, what, id, why);
	hubctl_audit_admin(s, keys, action, "refused", NULL, detail);
	ug_eprintf("hubctl: '%s' %s%s\n", id, why, hint);
	return 1;
}

int
hubctl_audit(const ug_config *cfg, store *s, ug_keys *keys, const char *sub)
{
	if (strcmp(sub, "verify") == 0) {
		int rc = verify(cfg, s);
		/* An "intact" that never reached its reader (a full disk
		 * under a redirect) must not pass a script's check. */
		int werr = hubctl_stdout_error();
		if (werr) {
			ug_eprintf("hubctl: audit verify: cannot write "
				   "standard output: %s\n",
				   strerror(werr));
			rc = 1;
		}
		return rc;
	}
	return show(cfg, s, keys);
}
