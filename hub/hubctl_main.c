/*
 * hubctl: the operator's tool. Generates key files, registers agencies and
 * caseworkers, assigns contact persons (hubctl_assign.c), prints store
 * statistics and checks and shows the audit trail (hubctl_audit.c). Every
 * writing command leaves a record in the hub's audit trail. It works on the
 * hub's LMDB store directly, which is safe while hubd runs: LMDB serialises
 * writers across processes, and hubd picks up appended assignments on its next
 * catch-up (every half second).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/nodump.h"
#include "common/util.h"
#include "hub/hub.h"
#include "hub/hubctl_assign.h"
#include "hub/hubctl_audit.h"
#include "hub/hubctl_backup.h"
#include "hub/hubctl_lifecycle.h"
#include "hub/hubctl_report.h"
#include "hub/hubctl_web.h"
#include "proto/wire.h"
#include "store/store.h"
#include "store/store_password.h"

static const char usage[] =
    "usage: hubctl COMMAND [--config hubd.conf] [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  keygen ID                 write keys_dir/ID.key (0644, public) and\n"
    "                            ID.key_secret (0600); the hub's own keys\n"
    "                            are ID 'hub', which also writes\n"
    "                            hub.sign_public (0644) and\n"
    "                            hub.sign_secret (0600), the audit\n"
    "                            signing pair (hubd makes it at start if\n"
    "                            it is missing and keys_dir is writable;\n"
    "                            with the hub's keys there, keygen hub\n"
    "                            writes the pair alone). Files are never\n"
    "                            overwritten: exit 1 if they exist\n"
    "  register-agency ID        admit an agency's key on the ingest\n"
    "                            endpoint [--key FILE.key] [--types LIST]\n"
    "  register-caseworker ID    admit a caseworker's key on the delivery\n"
    "                            endpoint [--key FILE.key] [--desk]\n"
    "                            [--ops] (--ops: receives hubd's\n"
    "                            operational alerts, ops.*)\n"
    "                            (registering an id again replaces its key\n"
    "                            and permissions; open connections with the\n"
    "                            old key are refused from their next frame)\n"
    "                            register-*: a key registered to another id\n"
    "                            (agency, caseworker or gateway) is refused,\n"
    "                            naming that id: exit 1, nothing changed,\n"
    "                            audited 'refused'; the id 'hub', the\n"
    "                            hub's own name in the audit trail and\n"
    "                            the log, and 'hubctl', the agency of\n"
    "                            its assignments, are refused: exit 2; a\n"
    "                            key file that cannot be read: exit 1,\n"
    "                            nothing changed or audited\n"
    "  revoke-agency ID          remove an agency's registration: its key\n"
    "                            is refused, open connections included\n"
    "  revoke-caseworker ID      the same for a caseworker; their delivery\n"
    "                            and web sessions end at once, and their\n"
    "                            web password and notice address are\n"
    "                            deleted\n"
    "  register-gateway ID       admit the web inbox's key (webd) on the\n"
    "                            delivery endpoint [--key FILE.key]: it\n"
    "                            may log caseworkers in and act only in\n"
    "                            their sessions\n"
    "  revoke-gateway ID         remove it: its frames are refused and its\n"
    "                            sessions end\n"
    "                            revoke-*: an id not registered as that\n"
    "                            kind changes nothing: exit 1, audited\n"
    "                            'not-found'\n"
    "  set-password CASEWORKER   set or reset a caseworker's web password,\n"
    "                            read from the first line of standard\n"
    "                            input (asked for, and not shown, at a\n"
    "                            terminal; 8-1024 bytes of UTF-8, no NUL\n"
    "                            byte; argon2id); their open web sessions\n"
    "                            end. Exit 0 set, 1 ID not a registered\n"
    "                            caseworker or a password of another\n"
    "                            length, with a NUL byte or not UTF-8\n"
    "                            (nothing changed), 2 usage\n"
    "  set-email ID ADDRESS      send e-mail notices of new alerts for a\n"
    "                            caseworker (or the desk's id) to ADDRESS;\n"
    "                            ADDRESS - removes it (hubd's mail_*).\n"
    "                            Exit 0 done, 1 ID neither a registered\n"
    "                            caseworker nor the desk's id (or nothing\n"
    "                            to remove), 2 usage\n"
    "  assign                    make a caseworker a person's contact:\n"
    "                            --cpr CPR --caseworker ID [--from DATE]\n"
    "                            [--to DATE] [--role "
    "contact|guidance|mentor]\n"
    "                            or --file CSV, UTF-8 text (save Excel's\n"
    "                            as \"CSV UTF-8\"): a header row naming cpr,\n"
    "                            caseworker and any of from, to, role; ';'\n"
    "                            or ','; \"quoted\" fields may hold either;\n"
    "                            its roles and dates also as the youth\n"
    "                            unit's adapter reads them (kontaktperson,\n"
    "                            UU-vejleder; DD-MM-YYYY, DD.MM.YYYY;\n"
    "                            to 9999-12-31 = no end)\n"
    "                            (an unknown --role: exit 2, nothing\n"
    "                            stored; a row of the file with a bad\n"
    "                            value is reported as FILE:LINE: and\n"
    "                            skipped, the others stored). Exit 0\n"
    "                            stored, 1 a row skipped, a header that is\n"
    "                            not UTF-8, an unregistered caseworker, a\n"
    "                            bad CPR or date, 2 usage\n"
    "  stats                     print store statistics [--json]\n"
    "  log                       list the stored events, oldest first: "
    "sequence,\n"
    "                            type, agency, event id (no personal data)\n"
    "                            [--json] [--after SEQ] [--limit N].\n"
    "                            Exit 0 listed, 3 listed but for log\n"
    "                            records that do not open (named on\n"
    "                            stderr; the others are listed), 1\n"
    "                            failed, 2 usage\n"
    "  audit verify              check the audit trail's hash chain, its\n"
    "                            recorded head and every checkpoint's\n"
    "                            signature (keys_dir/hub.sign_public); names\n"
    "                            the first broken record, or when intact\n"
    "                            the last checkpoint's record and head\n"
    "                            hash. Exit 0 intact, 1 broken or not\n"
    "                            verifiable (or the output could not be\n"
    "                            written), 2 usage\n"
    "  audit show                print audit records, oldest first\n"
    "                            [--cpr CPR] [--key KEYID] [--actor ID]\n"
    "                            [--from DATE] [--to DATE] [--json]; --cpr\n"
    "                            is hashed here to the person key and is\n"
    "                            never printed; showing is itself audited.\n"
    "                            Exit 0 shown (none matching: nothing is\n"
    "                            printed), 1 a record that does not open\n"
    "                            stopped it (those before it are shown)\n"
    "                            or the output could not be written, 2\n"
    "                            usage\n"
    "  export --cpr CPR          write everything held about one person as\n"
    "                            JSON [--out FILE] (created 0600; none or\n"
    "                            -: standard output): their events\n"
    "                            (envelopes decoded, recorded actions\n"
    "                            marked), alerts with state and\n"
    "                            recipient, and the audit records about\n"
    "                            them (who read what, when).\n"
    "                            Audited. Exit 0 written, 3 written but\n"
    "                            for log records that do not open (listed\n"
    "                            under \"unread\"), 1 failed, 2 usage\n"
    "  pass-damaged --seq N --reason TEXT\n"
    "                            pass over log record N, which does not\n"
    "                            open with the storage key (STORE-SEAL):\n"
    "                            hubd's applier, a rebuild of derived/ and\n"
    "                            the retention purge go on past it (it\n"
    "                            stays in the log, unread; log, export and\n"
    "                            erase still name it). Audited with the\n"
    "                            reason (1-200 bytes of UTF-8). Safe while\n"
    "                            hubd runs. Exit 0 passed, 1 the record\n"
    "                            opens or is absent (refused, nothing\n"
    "                            changed) or failed, 2 usage\n"
    "  erase --cpr CPR --reason TEXT\n"
    "                            a lawful erasure: delete the person's log\n"
    "                            records, ids and index entries, alerts and\n"
    "                            their queue entries, rule states, profile,\n"
    "                            timers and assignments (safe while hubd\n"
    "                            runs). Audited with the reason (1-200\n"
    "                            bytes of UTF-8, not white space alone,\n"
    "                            never the CPR). Exit 0 erased (also when\n"
    "                            nothing was held), 3 erased but for log\n"
    "                            records that do not open and whose owner\n"
    "                            cannot be told (named; run it again once\n"
    "                            they open), 1 failed, 2 usage\n"
    "  backup DIR                hot, compacting copy of the store into\n"
    "                            the new or empty DIR, with "
    "DIR/manifest.json;\n"
    "                            safe while hubd runs. Exit 0 written, 1 "
    "failed\n"
    "                            (what it wrote is taken back), 2 usage\n"
    "  restore DIR               copy a backup into the empty data_dir and\n"
    "                            check it against its manifest (each data\n"
    "                            file's length and hash, the log's last\n"
    "                            sequence and events; hubd stopped).\n"
    "                            Exit 0 restored, 1 failed or damaged (what\n"
    "                            it copied is taken back), 2 usage. Until\n"
    "                            it succeeds, data_dir/restore.unfinished\n"
    "                            keeps hubd and hubctl off the store; run\n"
    "                            it again to start over\n"
    "  report --year YYYY --out FILE.html\n"
    "                            the annual status on the strategy's goals\n"
    "                            (or --from DATE --to DATE, YYYY-MM-DD,\n"
    "                            both inclusive, instead of --year): one\n"
    "                            self-contained HTML page and\n"
    "                            status-TABLE.csv beside it (replaced if\n"
    "                            there; FILE.html named as one of those,\n"
    "                            a directory, ending in /, or - (never\n"
    "                            standard output): exit 2),\n"
    "                            counts of 1-4 persons shown as <5 and a\n"
    "                            second cell as x wherever a total would\n"
    "                            give one back, never a CPR.\n"
    "                            Audited. Exit 0 written, 1 failed, 2 usage\n"
    "\n"
    "Every command but stats, log and audit verify is recorded in the\n"
    "audit trail as hubctl:USER (keygen once the store exists, and only\n"
    "when it writes keys: a refusal to overwrite changes nothing and is\n"
    "not recorded; backup after its copy, so not in it). A change to the\n"
    "store (register-*, revoke-*, set-password, set-email, assign,\n"
    "erase, pass-damaged) is stored with its record or not at all: on a\n"
    "store too full for the record (log_map_mb) nothing changes, exit 1.\n"
    "Each checkpoint hubctl then signs is witnessed in the system log\n"
    "(syslog authpriv, tag hubctl): STORE-AUDIT checkpoint signed at\n"
    "record N, head HEX.\n"
    "\n"
    "Output that cannot be written (standard output on a full disk,\n"
    "or closed) is exit 1 for stats, log and audit, and for backup,\n"
    "restore, erase and report, whose line says what they did: that\n"
    "stands all the same (hubctl: backup: cannot write standard output:\n"
    "WHY; the backup was made all the same), and an erase incomplete\n"
    "stays exit 3. The lines of keygen, register-*, revoke-*,\n"
    "set-password, set-email, assign and pass-damaged only confirm:\n"
    "exit 0 all the same.\n"
    "\n"
    "Only register-* (before hubd's first start) and restore make a\n"
    "store (a register-* whose key file cannot be read makes none:\n"
    "exit 1); any other command but keygen (which needs none) on a\n"
    "data_dir without one is exit 1.\n"
    "\n"
    "Run as root, hubctl gives what it makes for hubd (keys, a new store,\n"
    "the files of a restore) the owner and group of the directory it\n"
    "makes them in (data_dir's parent when it creates data_dir; the\n"
    "nearest one that was there when it makes missing parents too, which\n"
    "take that owner as well), so hubd running as its own user can open\n"
    "them.\n"
    "\n"
    "Ids are 1-63 of a-z 0-9 . _ -, starting with a letter or digit,\n"
    "holding no CPR number (cw-010110-1234 is no id).\n"
    "A usage error (an unknown command, a missing or extra argument, an\n"
    "id that is not one, a bad option value: --types, --after,\n"
    "--limit, a map size; an option below that is not the command's,\n"
    "given on the command line) is exit 2, found before the store is\n"
    "opened: nothing is changed or recorded. hubd's settings go with\n"
    "every command. \"--\" ends the options.";

static const ug_setting extra_settings[] = {
    {"key", "",
     "register: public key file (default keys_dir/ID.key; given "
     "empty: exit 2); "
     "audit show: only records of this key (Z85, or its first "
     "characters; given empty: exit 2)"},
    {"actor", "",
     "audit show: only records of this principal id (given empty: "
     "exit 2)"},
    {"types", "absence",
     "register-agency: event types the agency may send, comma-separated, "
     "of absence, dropout, dropout_risk, enrolment, addiction, readiness, "
     "assignment, benefit, missed_activation, school_leaving, desk"},
    {"desk", "false",
     "register-caseworker: the caseworker is a member of the duty desk"},
    {"ops", "false",
     "register-caseworker: the caseworker receives operational alerts"},
    {"cpr", "",
     "assign, export, erase: the person's CPR number; audit show: only "
     "records about this person (given empty: exit 2)"},
    {"caseworker", "", "assign: the caseworker id"},
    {"from", "",
     "assign: first day (default today); audit show: from "
     "this day (UTC); report: the period's first day"},
    {"to", "",
     "assign: last day (default open-ended); audit show: up to "
     "and including this day (UTC); report: the period's last "
     "day"},
    {"role", "contact",
     "assign: contact, guidance or mentor (anything "
     "else: exit 2, nothing stored); not with --file "
     "(exit 2): the file's role column decides"},
    {"file", "", "assign: CSV file of assignments"},
    {"out", "",
     "export: write the JSON to this file (0600; - standard output); "
     "report: "
     "the HTML page (status-*.csv beside it; a file, not - for "
     "standard output: exit 2)"},
    {"reason", "",
     "erase: the lawful ground; pass-damaged: why the record is passed "
     "over; kept in the audit trail"},
    {"seq", "0",
     "pass-damaged: the log record's sequence (1-9223372036854775807; "
     "required)"},
    {"year", "",
     "report: the calendar year reported on, 1 January to "
     "31 December (four digits, 1970-9999)"},
    {"json", "false", "stats, log, audit show: print JSON"},
    {"after", "0", "log: start after this sequence (0-9223372036854775807)"},
    {"limit", "0",
     "log: at most this many events (0-9223372036854775807; 0 = all)"},
};

typedef struct {
	const ug_config *cfg;
	store *store;
	ug_keys *keys;
	bool restoring; /* restore opens what it copied, under its mark */
} ctl;

static int
fail(const char *what, const ug_diag *diag)
{
	ug_eprintf("hubctl: %s%s%s\n", what,
		   diag && diag->reason[0] ? ": " : "",
		   diag ? diag->reason : "");
	return 1;
}

static int
cmd_keygen(const ug_config *cfg, const char *id)
{
	ug_diag diag = {0};
	const char *dir = ug_config_get(cfg, "keys_dir");
	if (ug_mkdir_p(dir) != 0) {
		ug_eprintf("hubctl: keygen: cannot create %s: %s\n", dir,
			   strerror(errno));
		return 1;
	}
	bool hub_keys = strcmp(id, "hub") == 0;
	char secret[600], public[600];
	snprintf(secret, sizeof secret, "%s%s%s.key_secret", dir,
		 ug_dir_sep(dir), id);
	snprintf(public, sizeof public, "%s%s%s.key", dir, ug_dir_sep(dir),
		 id);
	ug_err err = ug_keys_generate(dir, id, &diag);
	/* The hub's keys may be there without its signing pair (a hub from
	 * before the audit trail was signed, or under the unit, where hubd
	 * cannot write keys_dir): keygen hub then makes the pair alone, as
	 * OPERATIONS.md says. Nothing is ever overwritten. */
	bool kept = err == UG_EEXISTS && hub_keys && access(secret, F_OK) == 0;
	if (err == UG_EEXISTS && !kept) {
		bool has_secret = access(secret, F_OK) == 0;
		/* As for the hub's: a lost public file is made again from
		 * the secret one, which holds its lines, not by a new pair. */
		if (has_secret && access(public, F_OK) != 0)
			ug_eprintf("hubctl: keygen: %s exists (keys are never "
				   "overwritten); %s is missing: copy the id "
				   "and public lines of %s into it\n",
				   secret, public, secret);
		else
			ug_eprintf("hubctl: keygen: %s exists (keys are never "
				   "overwritten)\n",
				   has_secret ? secret : public);
		return 1;
	}
	if (err != UG_OK && !kept)
		return fail("keygen", &diag);
	if (err == UG_OK)
		ug_oprintf("wrote %s (0644) and %s (0600)\n", public, secret);
	if (hub_keys) {
		ug_err serr = ug_keys_generate_signing(dir, id, &diag);
		char sign_public[600], sign_secret[600];
		snprintf(sign_public, sizeof sign_public,
			 "%s%shub.sign_public", dir, ug_dir_sep(dir));
		snprintf(sign_secret, sizeof sign_secret,
			 "%s%shub.sign_secret", dir, ug_dir_sep(dir));
		bool has_public = access(sign_public, F_OK) == 0;
		/* Named as they are: a hub.key lost beside its secret is not
		 * said to exist (keygen does not write it again). */
		bool has_key = access(public, F_OK) == 0;
		/* One half alone cannot be completed without overwriting it,
		 * and left as it is hubd signs nothing: say which half, and a
		 * lost hub.key too, or it is found only on the next run. */
		if (serr == UG_EEXISTS &&
		    has_public != (access(sign_secret, F_OK) == 0)) {
			if (kept && !has_key)
				ug_eprintf(
				    "hubctl: keygen: %s; %s is missing: "
				    "copy the id and public lines of "
				    "%s into it\n",
				    diag.reason, public, secret);
			else
				ug_eprintf("hubctl: keygen: %s\n",
					   diag.reason);
			return 1;
		}
		if (serr == UG_EEXISTS && kept) {
			if (has_key)
				ug_eprintf(
				    "hubctl: keygen: %s, %s and the "
				    "signing pair exist (keys are never "
				    "overwritten)\n",
				    public, secret);
			else
				ug_eprintf(
				    "hubctl: keygen: %s and the signing "
				    "pair exist (keys are never "
				    "overwritten); %s is missing: copy "
				    "the id and public lines of %s into "
				    "it\n",
				    secret, public, secret);
			return 1;
		}
		if (serr != UG_OK && serr != UG_EEXISTS)
			return fail("keygen (signing key)", &diag);
		if (kept && has_key)
			ug_oprintf("kept %s and %s (they exist)\n", public,
				   secret);
		else if (kept)
			ug_oprintf(
			    "kept %s (it exists); %s is missing: copy the "
			    "id and public lines of %s into it\n",
			    secret, public, secret);
		if (serr == UG_OK)
			ug_oprintf("wrote %s (0644) and %s (0600)\n",
				   sign_public, sign_secret);
		else
			ug_oprintf("kept %s and %s (they exist)\n",
				   sign_public, sign_secret);
	}
	return 0;
}

static ug_err open_ctl(ctl *c, const ug_config *cfg, ug_diag *diag);
static void close_ctl(ctl *c);

/* keygen runs before there is a store; once there is one, it is
 * recorded like any other admin action. */
static void
audit_keygen(const ug_config *cfg, const char *id)
{
	char path[512];
	snprintf(path, sizeof path, "%s/log/data.mdb",
		 ug_config_get(cfg, "data_dir"));
	if (access(path, F_OK) != 0)
		return;
	/* A store whose making was cut short is none yet: opening it here
	 * would make it. */
	snprintf(path, sizeof path, "%s/" STORE_NEW_MARK,
		 ug_config_get(cfg, "data_dir"));
	if (access(path, F_OK) == 0)
		return;
	ctl c = {0};
	ug_diag diag = {0};
	if (open_ctl(&c, cfg, &diag) == UG_OK)
		hubctl_audit_admin(c.store, c.keys, "keygen", "ok", NULL, id);
	close_ctl(&c);
}

/* What the store's open says at notice level (ids/ indexed again), said
 * as STORE-UPGRADED is: hubctl logs warnings only. */
static void
say_store(const char *msgid, const char *text)
{
	ug_eprintf("hubctl: %s %s\n", msgid, text);
}

static ug_err
open_ctl(ctl *c, const ug_config *cfg, ug_diag *diag)
{
	char path[512];
	snprintf(path, sizeof path, "%s%shub.key_secret",
		 ug_config_get(cfg, "keys_dir"),
		 ug_dir_sep(ug_config_get(cfg, "keys_dir")));
	c->cfg = cfg;
	ug_err err = ug_keys_load_hub(&c->keys, path, diag);
	if (err != UG_OK) {
		ug_keys_diag_name(diag, path);
		return err;
	}
	long log_mb, derived_mb;
	err = ug_config_int(cfg, "log_map_mb", 1, 1L << 24, &log_mb, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "derived_map_mb", 1, 1L << 24,
				    &derived_mb, diag);
	if (err != UG_OK)
		return err;
	store_opts opts = {(size_t)log_mb,
			   (size_t)derived_mb,
			   c->keys->storage_key,
			   c->restoring,
			   NULL,
			   say_store};
	err =
	    store_open(&c->store, ug_config_get(cfg, "data_dir"), &opts, diag);
	if (err == UG_OK && store_upgraded(c->store))
		ug_eprintf("hubctl: STORE-UPGRADED %s\n",
			   store_upgraded(c->store));
	if (err == UG_OK && store_derived_was_ahead(c->store))
		ug_eprintf("hubctl: %s: thrown away; hubd rebuilds it from "
			   "the log at its next start\n",
			   store_derived_was_ahead(c->store));
	if (err == UG_OK)
		hubctl_audit_signer(c->store, c->keys);
	return err;
}

static void
close_ctl(ctl *c)
{
	store_close(&c->store);
	ug_keys_destroy(&c->keys);
}

static int
cmd_register(ctl *c, int kind, const char *id)
{
	ug_diag diag = {0};
	if (!ug_id_valid(id)) {
		char shown[UG_ID_SHOWN_MAX];
		ug_eprintf("hubctl: '%s' is not a valid id " UG_ID_RULE "\n",
			   ug_id_shown(id, shown, sizeof shown));
		return 1;
	}
	char path[HUBCTL_KEY_PATH_MAX], public_z85[UG_Z85_KEY_LEN + 1];
	if (hubctl_registered_key(c->cfg, id, path, public_z85, &diag) !=
	    UG_OK)
		return fail("cannot read the public key", &diag);
	uint32_t flags = 0;
	if (kind == STORE_AGENCY &&
	    hub_parse_types(ug_config_get(c->cfg, "types"), &flags, &diag) !=
		UG_OK)
		return fail("--types", &diag);
	if (kind == STORE_CASEWORKER && ug_config_bool(c->cfg, "desk"))
		flags |= STORE_FLAG_DESK;
	if (kind == STORE_CASEWORKER && ug_config_bool(c->cfg, "ops"))
		flags |= STORE_FLAG_OPS;
	char what[32];
	snprintf(what, sizeof what, "flags 0x%x", (unsigned)flags);
	/* The mirror of register-gateway's check: the web inbox's key
	 * would otherwise become a caseworker's without a word, and webd
	 * could no longer log anyone in. */
	uint32_t held = 0;
	if (kind == STORE_CASEWORKER &&
	    store_principal_flags(c->store, STORE_CASEWORKER, id, &held) ==
		UG_OK &&
	    (held & STORE_FLAG_GATEWAY))
		return hubctl_register_refused(
		    c->store, c->keys, "register-caseworker", id, public_z85,
		    what, "is a registered gateway",
		    "; a caseworker needs an id of its own (revoke-gateway it "
		    "first to reuse the id)");
	if (hubctl_register(c->store, c->keys,
			    kind == STORE_AGENCY ? "register-agency"
						 : "register-caseworker",
			    kind, id, public_z85, flags, what, path))
		return 1;
	ug_oprintf("registered %s %s (key %.8s...)\n",
		   kind == STORE_AGENCY ? "agency" : "caseworker", id,
		   public_z85);
	return 0;
}

static int
cmd_revoke(ctl *c, int kind, const char *id)
{
	const char *action =
	    kind == STORE_AGENCY ? "revoke-agency" : "revoke-caseworker";
	uint32_t held = 0;
	if (kind == STORE_CASEWORKER &&
	    store_principal_flags(c->store, STORE_CASEWORKER, id, &held) ==
		UG_OK &&
	    (held & STORE_FLAG_GATEWAY)) {
		/* The mirror of revoke-gateway's check: each kind is revoked
		 * by its own command. */
		hubctl_audit_admin(c->store, c->keys, action, "not-found",
				   NULL, id);
		ug_eprintf("hubctl: revoke: no caseworker '%s' is "
			   "registered ('%s' is a gateway: revoke-gateway)\n",
			   id, id);
		return 1;
	}
	/* A caseworker's web password and notice address go in the same
	 * transaction as the registration and its record (the store's
	 * revoke): an id registered again later, perhaps for someone else,
	 * starts without either. */
	char detail[STORE_AUDIT_DETAIL_MAX];
	hubctl_revoke_detail(c->store, kind, id, detail);
	hubctl_record r;
	ug_err err = store_principal_revoke_audited(
	    c->store, kind, id,
	    hubctl_audit_entry(&r, action, "ok", NULL, detail));
	if (err == UG_ENOTFOUND) {
		hubctl_audit_admin(c->store, c->keys, action, "not-found",
				   NULL, detail);
		ug_eprintf("hubctl: revoke: no %s '%s' is registered\n",
			   kind == STORE_AGENCY ? "agency" : "caseworker", id);
		return 1;
	}
	if (err != UG_OK) {
		hubctl_not_stored(c->store, c->keys, "revoke", action, detail,
				  err);
		return 1;
	}
	hubctl_audit_signed(c->store, c->keys, &r);
	ug_oprintf("revoked %s %s\n",
		   kind == STORE_AGENCY ? "agency" : "caseworker", id);
	return 0;
}

/* The commands each of hubctl's own options belongs to ("audit show" by
 * its verb). hubd's settings are not listed: hubctl reads hubd.conf, so
 * they are taken by every command. */
static const struct {
	const char *option;
	const char *commands; /* space-separated, each ended by ',' */
} option_commands[] = {
    {"key", "register-agency, register-caseworker, register-gateway, "
	    "audit show,"},
    {"actor", "audit show,"},
    {"types", "register-agency,"},
    {"desk", "register-caseworker,"},
    {"ops", "register-caseworker,"},
    {"cpr", "assign, audit show, export, erase,"},
    {"caseworker", "assign,"},
    {"from", "assign, audit show, report,"},
    {"to", "assign, audit show, report,"},
    {"role", "assign,"},
    {"file", "assign,"},
    {"out", "export, report,"},
    {"reason", "erase, pass-damaged,"},
    {"seq", "pass-damaged,"},
    {"year", "report,"},
    {"json", "stats, log, audit show,"},
    {"after", "log,"},
    {"limit", "log,"},
};

/* An option typed for another command would otherwise be dropped without
 * a word (stats --cpr X, report --json): the operator believes it did
 * something. Only the command line counts; a --config file may hold
 * options for several commands. */
static bool
options_apply(const ug_config *cfg, const char *cmd, const char *verb)
{
	char what[64], key[66];
	snprintf(what, sizeof what, "%s%s%s", cmd, verb ? " " : "",
		 verb ? verb : "");
	snprintf(key, sizeof key, "%s,", what);
	for (size_t i = 0;
	     i < sizeof option_commands / sizeof *option_commands; i++) {
		const char *opt = option_commands[i].option;
		const char *list = option_commands[i].commands;
		const char *at = strstr(list, key);
		if (!ug_config_given(cfg, opt) ||
		    (at && (at == list || at[-1] == ' ')))
			continue;
		ug_eprintf("hubctl: %s: --%s does not apply to %s (see "
			   "--help)\n",
			   what, opt, what);
		return false;
	}
	return true;
}

/* Bad values on the command line are usage errors (exit 2), found
 * before the store is opened, so nothing is created, changed or audited
 * because of a typo. An agency with an empty --types could send nothing
 * at all: that is a mistake, never a wish. */
static bool
values_ok(const ug_config *cfg, const char *cmd, const char *id)
{
	ug_diag diag = {0};
	long n;
	bool named = strcmp(cmd, "backup") != 0 &&
		     strcmp(cmd, "restore") != 0 && strcmp(cmd, "audit") != 0;
	if (id && named && !ug_id_valid(id)) {
		char shown[UG_ID_SHOWN_MAX];
		ug_eprintf("hubctl: %s: '%s' is not a valid id " UG_ID_RULE
			   "\n",
			   cmd, ug_id_shown(id, shown, sizeof shown));
		return false;
	}
	/* `hub` names the hub itself: the actor of its own records in the
	 * audit trail (withdrawals, escalations, purges) and the sender of
	 * the caseworkers' recorded actions in the log. A principal of that
	 * name would be mistaken for it in both. */
	if (id && strncmp(cmd, "register-", 9) == 0 &&
	    strcmp(id, "hub") == 0) {
		ug_eprintf("hubctl: %s: 'hub' is the hub's own name (in the "
			   "audit trail and the log): choose another id\n",
			   cmd);
		return false;
	}
	/* `hubctl` is the agency of the assignments hubctl logs: a sender
	 * of that name could pass its events off as the municipality's. */
	if (id && strncmp(cmd, "register-", 9) == 0 &&
	    strcmp(id, HUBCTL_AGENCY) == 0) {
		ug_eprintf("hubctl: %s: 'hubctl' is hubctl's own name (the "
			   "agency of its assignments in the log): choose "
			   "another id\n",
			   cmd);
		return false;
	}
	/* An empty --key (an unset variable in a key replacement's script)
	 * would register keys_dir/ID.key, perhaps the very key being
	 * replaced, and say so as a success. So does a `key =` line left
	 * empty in a --config file. */
	if (strncmp(cmd, "register-", 9) == 0 &&
	    (ug_config_given(cfg, "key") || ug_config_where(cfg, "key")[0]) &&
	    !ug_config_get(cfg, "key")[0]) {
		ug_eprintf("hubctl: %s%s: --key names no file (leave it out "
			   "for keys_dir/ID.key)\n",
			   ug_config_where(cfg, "key"), cmd);
		return false;
	}
	if (strcmp(cmd, "log") == 0 &&
	    (ug_config_int(cfg, "after", 0, LONG_MAX, &n, &diag) != UG_OK ||
	     ug_config_int(cfg, "limit", 0, LONG_MAX, &n, &diag) != UG_OK)) {
		/* The file and line before the command, as for every
		 * other option read from a file. */
		const char *at = ug_config_where(cfg, diag.field);
		const char *why = diag.reason;
		if (at[0] && strncmp(why, at, strlen(at)) == 0)
			why += strlen(at);
		ug_eprintf("hubctl: %slog: %s\n", at, why);
		return false;
	}
	if (strcmp(cmd, "register-agency") == 0) {
		uint32_t flags;
		if (hub_parse_types(ug_config_get(cfg, "types"), &flags,
				    &diag) != UG_OK) {
			ug_eprintf("hubctl: %s--types: %s\n",
				   ug_config_where(cfg, "types"), diag.reason);
			return false;
		}
		if (!flags) {
			ug_eprintf("hubctl: %s--types: name at least one "
				   "event type the agency may send\n",
				   ug_config_where(cfg, "types"));
			return false;
		}
	}
	if (!ug_config_get(cfg, "keys_dir")[0] ||
	    (strcmp(cmd, "keygen") != 0 &&
	     !ug_config_get(cfg, "data_dir")[0])) {
		const char *which = ug_config_get(cfg, "keys_dir")[0]
					? "data_dir"
					: "keys_dir";
		ug_eprintf("hubctl: %s%s must name a directory\n",
			   ug_config_where(cfg, which), which);
		return false;
	}
	for (const char *const *d =
		 (const char *const[]){"keys_dir", "data_dir", NULL};
	     *d; d++)
		if (ug_config_dir_too_long(cfg, "hubctl", *d))
			return false;
	if (strcmp(cmd, "keygen") != 0 &&
	    (ug_config_int(cfg, "log_map_mb", 1, 1L << 24, &n, &diag) !=
		 UG_OK ||
	     ug_config_int(cfg, "derived_map_mb", 1, 1L << 24, &n, &diag) !=
		 UG_OK)) {
		ug_eprintf("hubctl: %s\n", diag.reason);
		return false;
	}
	/* assign dates by the hub clock: a test clock that does not read
	 * would date it by the system clock instead, without a word. */
	int64_t ms;
	if (strcmp(cmd, "assign") == 0 &&
	    ug_config_get(cfg, "clock_file")[0] &&
	    ug_clock_file_read(ug_config_get(cfg, "clock_file"), &ms, &diag) !=
		UG_OK) {
		ug_eprintf("hubctl: assign: %s%s\n",
			   ug_config_where(cfg, "clock_file"), diag.reason);
		return false;
	}
	return true;
}

static int
cmd_stats(ctl *c)
{
	store_stats st;
	if (store_get_stats(c->store, &st) != UG_OK) {
		ug_eprintf("hubctl: cannot read statistics\n");
		return 1;
	}
	/* clang-format wraps this list differently on each run. */
	// clang-format off
#define STAT_FIELDS(X)                                                        \
	X(log_events) X(last_seq) X(last_applied) X(event_ids)                \
	X(assignments) X(principals) X(alerts) X(alerts_open)                 \
	X(person_index_entries) X(timers) X(audit_records) X(log_bytes)       \
	X(derived_bytes) X(ids_bytes) X(log_map_bytes) X(derived_map_bytes)   \
	X(ids_map_bytes)
	// clang-format on
	if (ug_config_bool(c->cfg, "json")) {
		const char *sep = "{";
#define JSON_FIELD(name)                                                      \
	printf("%s\"" #name "\": %llu", sep, (unsigned long long)st.name);    \
	sep = ", ";
		STAT_FIELDS(JSON_FIELD)
		printf("}\n");
	} else {
#define TEXT_FIELD(name)                                                      \
	printf("%-22s %llu\n", #name, (unsigned long long)st.name);
		STAT_FIELDS(TEXT_FIELD)
	}
	return 0;
}

typedef struct {
	bool json;
	size_t printed;
	/* The records that do not open (STORE-SEAL): counted, and the
	 * first few named in the summary after the listing. */
	ug_seq_tally unopened;
} log_ctx;

static ug_err
print_record(void *ctx, const store_record *rec)
{
	log_ctx *c = ctx;
	wire_envelope *env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
					 rec->body, rec->body_len);
	char hexid[2 * WIRE_EVENT_ID_LEN + 1] = "-";
	char supersedes[2 * WIRE_EVENT_ID_LEN + 1] = "";
	if (env && env->event_id.len == WIRE_EVENT_ID_LEN)
		ug_hex(env->event_id.data, WIRE_EVENT_ID_LEN, hexid);
	if (env && env->supersedes.len == WIRE_EVENT_ID_LEN)
		ug_hex(env->supersedes.data, WIRE_EVENT_ID_LEN, supersedes);
	if (c->json)
		printf("{\"seq\": %llu, \"type\": \"%s\", \"agency\": \"%s\", "
		       "\"event_id\": \"%s\", \"supersedes\": \"%s\", "
		       "\"received_at\": %lld, \"person\": %s}\n",
		       (unsigned long long)rec->seq,
		       wire_event_type_name((int)rec->type), rec->agency,
		       hexid, supersedes, (long long)rec->received_at,
		       rec->person_key ? "true" : "false");
	else
		printf("%10llu  %-20s %-24s %s%s%s\n",
		       (unsigned long long)rec->seq,
		       wire_event_type_name((int)rec->type), rec->agency,
		       hexid, supersedes[0] ? " supersedes " : "", supersedes);
	hubctl_stdout_note();
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
	c->printed++;
	return UG_OK;
}

/* A damaged record must not hide the ones after it: an operator looking
 * for an event needs the whole log that opens, and the damaged one named
 * (its STORE-SEAL line says so where it is met). */
static ug_err
note_unopened(void *ctx, uint64_t seq)
{
	ug_seq_tally_add(&((log_ctx *)ctx)->unopened, seq);
	return UG_OK;
}

static int
cmd_log(ctl *c)
{
	long after, limit;
	ug_diag diag = {0};
	if (ug_config_int(c->cfg, "after", 0, LONG_MAX, &after, &diag) !=
		UG_OK ||
	    ug_config_int(c->cfg, "limit", 0, LONG_MAX, &limit, &diag) !=
		UG_OK)
		return fail("log", &diag);
	log_ctx lc = {.json = ug_config_bool(c->cfg, "json")};
	uint64_t next = (uint64_t)after + 1;
	size_t want = limit ? (size_t)limit : SIZE_MAX;
	/* --limit counts the records listed; one that does not open is
	 * named, not listed, so it does not count. */
	while (lc.printed < want) {
		size_t before = lc.printed + lc.unopened.n;
		size_t chunk =
		    want - lc.printed < 4096 ? want - lc.printed : 4096;
		if (store_log_scan_opened(c->store, next, chunk, print_record,
					  note_unopened, &lc,
					  &next) != UG_OK) {
			ug_eprintf("hubctl: cannot read the log\n");
			return 1;
		}
		if (lc.printed + lc.unopened.n == before)
			break;
	}
	if (!lc.unopened.n)
		return 0;
	char seqs[128];
	ug_seq_list(lc.unopened.first, lc.unopened.n, lc.unopened.n, seqs,
		    sizeof seqs);
	ug_eprintf("hubctl: log incomplete: %zu log records do not open with "
		   "the storage key and are not listed (%s; STORE-SEAL "
		   "above); the others are. Treat it as damage to the store: "
		   "see OPERATIONS.md, \"Records that do not open\"\n",
		   lc.unopened.n, seqs);
	return 3;
}

/* Only a registration (before hubd's first start) or a restore makes a
 * store. Any other command on a data_dir without one has the wrong
 * data_dir: a backup, stats or audit verify would otherwise make an
 * empty store there and report it, every night, as a success. A restore
 * that did not finish is left to store_open, which says so. */
static bool
store_expected(const char *cmd, const char *data_dir)
{
	char path[600];
	if (strncmp(cmd, "register-", 9) == 0 || strcmp(cmd, "restore") == 0)
		return true;
	/* A store whose making was cut short holds nothing yet; opening it
	 * would make it, which only register-* and hubd do. */
	snprintf(path, sizeof path, "%s/" STORE_NEW_MARK, data_dir);
	bool unmade = access(path, F_OK) == 0;
	snprintf(path, sizeof path, "%s/log/data.mdb", data_dir);
	/* Only a store known to be missing is none: one this user may not
	 * look into is left to store_open, which names why. */
	if (!unmade && (access(path, F_OK) == 0 || errno == EACCES))
		return true;
	snprintf(path, sizeof path, "%s/" STORE_RESTORE_MARK, data_dir);
	if (access(path, F_OK) == 0 || errno == EACCES)
		return true;
	ug_eprintf("hubctl: %s: no store in %s (data_dir): hubd makes "
		   "it at its first start, hubctl register-* before that\n",
		   cmd, data_dir);
	return false;
}

/* A registration reads its key file before the store is opened: one it
 * cannot read changes nothing, and before hubd's first start that means
 * making no store either (a mistyped --key would leave an empty one). */
static bool
register_key_readable(const ug_config *cfg, const char *cmd, const char *id)
{
	if (strncmp(cmd, "register-", 9) != 0)
		return true;
	char path[HUBCTL_KEY_PATH_MAX], public_z85[UG_Z85_KEY_LEN + 1];
	ug_diag diag = {0};
	if (hubctl_registered_key(cfg, id, path, public_z85, &diag) == UG_OK)
		return true;
	fail("cannot read the public key", &diag);
	return false;
}

/* path's parent, in place ("." for a name without a slash). */
static void
parent_of(char *path, size_t size)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	char *slash = strrchr(path, '/');
	if (!slash)
		ug_strlcpy(path, ".", size);
	else
		slash[slash == path] = '\0';
}

/* Whose files these are to be: the directory's owner if it is there,
 * else that of the nearest directory above it that is (hubctl makes the
 * missing ones); base is that directory. */
static bool
owner_of(const char *dir, struct stat *st, char *base, size_t size)
{
	if (strlen(dir) >= size)
		return false; /* a cut path could name another directory */
	ug_strlcpy(base, dir, size);
	for (int depth = 0; depth < 64; depth++) {
		if (stat(base, st) == 0)
			return true;
		if (strcmp(base, ".") == 0 || strcmp(base, "/") == 0)
			return false;
		parent_of(base, size);
	}
	return false;
}

static void
give(const char *path, const struct stat *owner)
{
	struct stat st;
	if (lstat(path, &st) == 0 &&
	    (st.st_uid != owner->st_uid || st.st_gid != owner->st_gid) &&
	    lchown(path, owner->st_uid, owner->st_gid) != 0)
		ug_eprintf("hubctl: warning: cannot give %s to uid %u: "
			   "%s\n",
			   path, (unsigned)owner->st_uid, strerror(errno));
}

/* hubd runs as a user of its own (ungebro under the unit). What hubctl
 * makes as root for it (a new store, the files of a restore, an ids/ or
 * derived/ made again, keys) would be root's and 0600, and hubd could
 * not open them: they are given the owner of the directory they are in,
 * as if that user had made them. Only root can, and only root needs to. */
static void
give_to_owner(const char *dir, const struct stat *owner, const char *id,
	      const char *base)
{
	char path[1024];
	if (geteuid() != 0 || (owner->st_uid == 0 && owner->st_gid == 0))
		return;
	give(dir, owner);
	/* The parents hubctl made for dir, or hubd could not reach it. */
	ug_strlcpy(path, dir, sizeof path);
	for (int depth = 0; strcmp(dir, base) != 0 && depth < 64; depth++) {
		parent_of(path, sizeof path);
		if (strcmp(path, base) == 0 || strcmp(path, ".") == 0 ||
		    strcmp(path, "/") == 0)
			break;
		give(path, owner);
	}
	if (id) {
		static const char *const key_files[] = {
		    ".key", ".key_secret", ".sign_public", ".sign_secret"};
		for (size_t i = 0; i < 4; i++) {
			snprintf(path, sizeof path, "%s%s%s%s", dir,
				 ug_dir_sep(dir), id, key_files[i]);
			give(path, owner);
		}
		return;
	}
	static const char *const envs[] = {"log", "ids", "derived"};
	static const char *const files[] = {"", "/data.mdb", "/lock.mdb"};
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++) {
			snprintf(path, sizeof path, "%s%s%s%s", dir,
				 ug_dir_sep(dir), envs[i], files[j]);
			give(path, owner);
		}
}

static const ug_setting *
all_settings(void)
{
	static ug_setting table[64];
	size_t n = 0;
	for (const ug_setting *s = hub_settings; s->name; s++) {
		table[n] = *s;
		/* hubctl shares hubd.conf, but its own log stays at warn:
		 * its output is for the operator, its STORE-AUDIT lines go
		 * to the system log (OPERATIONS.md, "The audit trail"). */
		if (strcmp(s->name, "log_level") == 0)
			table[n].help =
			    "hubd's log level (err, warn, notice, "
			    "info or debug, in any case); hubctl's "
			    "own is warn "
			    "whatever this says";
		n++;
	}
	for (size_t i = 0; i < sizeof extra_settings / sizeof *extra_settings;
	     i++)
		table[n++] = extra_settings[i];
	table[n] = (ug_setting){NULL, NULL, NULL};
	return table;
}

int
main(int argc, char **argv)
{
	ug_hold_std_streams();
	ug_diag nodump = {0};
	if (ug_forbid_core_dumps(&nodump) != UG_OK) {
		ug_eprintf("hubctl: %s\n", nodump.reason);
		return 1;
	}
	/* Output piped to a reader that stops early (audit show | head)
	 * must fail as a write does, not kill hubctl before the show is
	 * recorded: showing is itself audited. */
	signal(SIGPIPE, SIG_IGN);
	ug_log_init("hubctl", UG_LOG_WARN);
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help;
	ug_diag diag = {0};
	if (ug_crypto_init() != UG_OK)
		return 1;
	if (ug_config_load(&cfg, all_settings(), usage, argc, argv, &rest,
			   &nrest, &help, &diag) != UG_OK) {
		ug_eprintf("hubctl: %s\n", diag.reason);
		return 2;
	}
	if (help) {
		ug_config_destroy(&cfg);
		return 0;
	}
	const char *cmd = nrest > 0 ? rest[0] : "";
	const char *id = nrest > 1 ? rest[1] : NULL;
	int rc = 2;
	const char *data_dir = ug_config_get(cfg, "data_dir");
	const char *keys_dir = ug_config_get(cfg, "keys_dir");
	struct stat data_owner, keys_owner;
	char data_base[1024], keys_base[1024];
	bool data_known =
	    owner_of(data_dir, &data_owner, data_base, sizeof data_base);
	bool keys_known =
	    owner_of(keys_dir, &keys_owner, keys_base, sizeof keys_base);
	bool needs_id = strcmp(cmd, "keygen") == 0 ||
			strcmp(cmd, "register-agency") == 0 ||
			strcmp(cmd, "register-caseworker") == 0 ||
			strcmp(cmd, "register-gateway") == 0 ||
			strcmp(cmd, "revoke-gateway") == 0 ||
			strcmp(cmd, "set-password") == 0 ||
			strcmp(cmd, "set-email") == 0 ||
			strcmp(cmd, "revoke-agency") == 0 ||
			strcmp(cmd, "revoke-caseworker") == 0 ||
			strcmp(cmd, "backup") == 0 ||
			strcmp(cmd, "restore") == 0;
	bool audit = strcmp(cmd, "audit") == 0;
	bool lifecycle =
	    strcmp(cmd, "export") == 0 || strcmp(cmd, "erase") == 0;
	bool report = strcmp(cmd, "report") == 0;
	bool passing = strcmp(cmd, "pass-damaged") == 0;
	bool known = needs_id || audit || lifecycle || report || passing ||
		     strcmp(cmd, "assign") == 0 || strcmp(cmd, "stats") == 0 ||
		     strcmp(cmd, "log") == 0;
	bool dir = strcmp(cmd, "backup") == 0 || strcmp(cmd, "restore") == 0;
	/* DIR/, as a shell completes it, names DIR: its files read
	 * DIR/manifest.json, not DIR//manifest.json, as under data_dir. */
	if (dir && id)
		for (size_t n = strlen(rest[1]);
		     n > 1 && rest[1][n - 1] == '/';)
			rest[1][--n] = '\0';
	/* The command, its ID, DIR or audit verb, and set-email's ADDRESS:
	 * anything more is a typo, not something to ignore. */
	int most = strcmp(cmd, "set-email") == 0 ? 3
		   : needs_id || audit		 ? 2
						 : 1;
	/* An empty DIR (an unset variable in a nightly job) names no
	 * directory: missing, not one to try and fail on. */
	if (dir && id && !*id)
		id = NULL;
	/* "-x" reaches here as a word wherever it stands, "stats -x" too:
	 * an unknown option, as --x is, not an argument to reject or an id
	 * to call invalid. After "--" it is an argument, and so is
	 * set-email's ADDRESS, which it refuses as no plain address. */
	const char *dashed = NULL;
	for (int i = 1; i < ug_config_rest_options(cfg) && !dashed; i++)
		if (rest[i][0] == '-' && rest[i][1] &&
		    !(i == 2 && strcmp(cmd, "set-email") == 0))
			dashed = rest[i];
	if (dashed) {
		ug_eprintf("hubctl: unknown option %s (see --help)\n", dashed);
	} else if (!known || (needs_id && !id)) {
		if (!known && cmd[0] == '-' && cmd[1] &&
		    ug_config_rest_options(cfg) > 0)
			/* -x reaches here as a word: said as --x is; after
			 * "--" it is a word taken as it is, no command. */
			ug_eprintf("hubctl: unknown option %s (see --help)\n",
				   cmd);
		else if (!known) {
			/* "--json maybe stats" meant maybe for --json; a
			 * lone "--json stat" mistyped the command. */
			if (nrest < 2 ||
			    !ug_config_stray_word(cfg, "hubctl", 0))
				ug_eprintf("hubctl: unknown or missing "
					   "command (see --help)\n");
		} else
			fprintf(
			    stderr, "hubctl: %s needs %s (see --help)\n", cmd,
			    dir				       ? "DIR"
			    : strcmp(cmd, "set-password") == 0 ? "CASEWORKER"
							       : "ID");
	} else if (nrest > most) {
		/* Named as the other messages of audit's verbs name it:
		 * "audit verify", not "audit". */
		bool verb = audit && hubctl_audit_known(id);
		if (!ug_config_stray_word(cfg, "hubctl", most))
			ug_eprintf("hubctl: %s%s%s: unexpected argument '%s' "
				   "(see --help)\n",
				   cmd, verb ? " " : "", verb ? id : "",
				   rest[most]);
	} else if (audit && !hubctl_audit_known(id)) {
		/* "audit --json maybe": maybe was meant for --json. */
		if (!ug_config_after_flag(cfg, 1) ||
		    !ug_config_stray_word(cfg, "hubctl", 1))
			ug_eprintf("hubctl: audit needs verify or show (see "
				   "--help)\n");
	} else if (!options_apply(cfg, cmd, audit ? id : NULL)) {
		rc = 2;
	} else if (!values_ok(cfg, cmd, id)) {
		rc = 2;
	} else if (strcmp(cmd, "keygen") == 0) {
		rc = cmd_keygen(cfg, id);
		if (rc == 0)
			audit_keygen(cfg, id);
	} else if (strcmp(cmd, "assign") == 0 &&
		   !hubctl_assign_usage_ok(cfg)) {
		rc = 2;
	} else if (lifecycle && !hubctl_lifecycle_usage_ok(cfg, cmd)) {
		rc = 2;
	} else if (audit && !hubctl_audit_usage_ok(cfg, id)) {
		rc = 2;
	} else if (report && !hubctl_report_usage_ok(cfg)) {
		rc = 2;
	} else if (passing && !hubctl_pass_damaged_usage_ok(cfg)) {
		rc = 2;
	} else if (strcmp(cmd, "set-email") == 0 &&
		   !hubctl_set_email_usage_ok(id,
					      nrest > 2 ? rest[2] : NULL)) {
		rc = 2;
	} else if (dir && (strlen(id) > HUBCTL_BACKUP_PATH_MAX ||
			   strlen(data_dir) > HUBCTL_BACKUP_PATH_MAX)) {
		/* The backup's file names are built under it: cut short,
		 * they would name other files. */
		ug_eprintf("hubctl: %s: %s is longer than %d bytes\n", cmd,
			   strlen(id) > HUBCTL_BACKUP_PATH_MAX ? "DIR"
							       : "data_dir",
			   HUBCTL_BACKUP_PATH_MAX);
		rc = 2;
	} else if (strcmp(cmd, "restore") == 0 &&
		   (rc = hubctl_restore_files(cfg, id)) != 0) {
		/* nothing restored: no store to open */
	} else if (!store_expected(cmd, data_dir) ||
		   !register_key_readable(cfg, cmd, id)) {
		rc = 1;
	} else {
		bool restoring = strcmp(cmd, "restore") == 0;
		ctl c = {.restoring = restoring};
		ug_err open_err = open_ctl(&c, cfg, &diag);
		if (open_err != UG_OK) {
			/* A store that opened but could not be read is named
			 * by the STORE-LMDB line before this one and leaves no
			 * reason here: give the error, as hubd's HUB-START
			 * does, so the line never stops short of a reason. */
			if (!diag.reason[0])
				snprintf(diag.reason, sizeof diag.reason, "%s",
					 ug_strerror(open_err));
			rc = fail("cannot open the hub's keys and store",
				  &diag);
		} else if (audit) {
			rc = hubctl_audit(cfg, c.store, c.keys, id);
		} else if (strcmp(cmd, "backup") == 0) {
			rc = hubctl_backup(cfg, c.store, c.keys, id);
		} else if (strcmp(cmd, "restore") == 0) {
			rc = hubctl_restore_check(cfg, c.store, c.keys, id);
			if (rc == 0 &&
			    store_restore_done(ug_config_get(cfg, "data_dir"),
					       &diag) != UG_OK)
				rc = fail("restore", &diag);
		} else if (strcmp(cmd, "export") == 0) {
			rc = hubctl_export(cfg, c.store, c.keys);
		} else if (strcmp(cmd, "erase") == 0) {
			rc = hubctl_erase(cfg, c.store, c.keys);
		} else if (report) {
			rc = hubctl_report(cfg, c.store, c.keys);
		} else if (passing) {
			rc = hubctl_pass_damaged(cfg, c.store, c.keys);
		} else if (strcmp(cmd, "register-agency") == 0) {
			rc = cmd_register(&c, STORE_AGENCY, id);
		} else if (strcmp(cmd, "register-caseworker") == 0) {
			rc = cmd_register(&c, STORE_CASEWORKER, id);
		} else if (strcmp(cmd, "register-gateway") == 0) {
			rc = hubctl_register_gateway(cfg, c.store, c.keys, id);
		} else if (strcmp(cmd, "revoke-gateway") == 0) {
			rc = hubctl_revoke_gateway(c.store, c.keys, id);
		} else if (strcmp(cmd, "set-password") == 0) {
			rc = hubctl_set_password(c.store, c.keys, id);
		} else if (strcmp(cmd, "set-email") == 0) {
			rc = hubctl_set_email(cfg, c.store, c.keys, id,
					      nrest > 2 ? rest[2] : NULL);
		} else if (strcmp(cmd, "revoke-agency") == 0) {
			rc = cmd_revoke(&c, STORE_AGENCY, id);
		} else if (strcmp(cmd, "revoke-caseworker") == 0) {
			rc = cmd_revoke(&c, STORE_CASEWORKER, id);
		} else if (strcmp(cmd, "assign") == 0) {
			rc = hubctl_assign(c.cfg, c.store, c.keys);
		} else if (strcmp(cmd, "log") == 0) {
			rc = cmd_log(&c);
		} else {
			rc = cmd_stats(&c);
		}
		int werr = 0;
		/* log's 3 (records that do not open) listed the rest: its
		 * output must have been written as well. */
		if ((rc == 0 || (rc == 3 && strcmp(cmd, "log") == 0)) &&
		    (strcmp(cmd, "log") == 0 || strcmp(cmd, "stats") == 0) &&
		    (werr = hubctl_stdout_error()) != 0) {
			ug_eprintf("hubctl: %s: cannot write standard output: "
				   "%s\n",
				   cmd, strerror(werr));
			rc = 1;
		}
		/* These lines report what was done (a backup's figures and
		 * check, an erasure's counts): one that never reached its
		 * reader must not pass a script's check, though the action
		 * stands. */
		const char *done = NULL;
		if (strcmp(cmd, "backup") == 0)
			done = "the backup was made";
		else if (restoring)
			done = "the store was restored";
		else if (strcmp(cmd, "erase") == 0)
			done = "the person was erased";
		else if (report)
			done = "the report was written";
		bool unsaid = false;
		if (done &&
		    (rc == 0 || (rc == 3 && strcmp(cmd, "erase") == 0)) &&
		    (werr = hubctl_stdout_error()) != 0) {
			ug_eprintf("hubctl: %s: cannot write standard output: "
				   "%s; %s all the same\n",
				   cmd, strerror(werr), done);
			unsaid = true;
			if (rc == 0)
				rc = 1;
		}
		close_ctl(&c);
		/* A restore that does not open or does not match leaves
		 * data_dir as empty as it found it, ready for another try. */
		if (restoring && rc != 0 && !unsaid) {
			store_restore_undo(ug_config_get(cfg, "data_dir"));
			ug_eprintf("hubctl: restore: nothing restored; "
				   "%s is empty again\n",
				   ug_config_get(cfg, "data_dir"));
		}
	}
	if (strcmp(cmd, "keygen") == 0 && rc == 0 && keys_known)
		give_to_owner(keys_dir, &keys_owner, id, keys_base);
	struct stat made;
	if (data_known && stat(data_dir, &made) == 0)
		give_to_owner(data_dir, &data_owner, NULL, data_base);
	ug_config_destroy(&cfg);
	return rc;
}
