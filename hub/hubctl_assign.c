/*
 * hubctl assign: a contact person (or, with --file, a whole list of them)
 * logged as ContactAssignment events, as an agency would send them, each
 * with its audit record, then a signed checkpoint. The rules apply them
 * as any other event (RULES.md section 7).
 */
#define _GNU_SOURCE /* fopencookie: a pipe's first bytes read again */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/assignment_file.h"
#include "common/config.h"
#include "common/crypto.h"
#include "common/csv.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/util.h"
#include "hub/hub.h"
#include "hub/hubctl_assign.h"
#include "hub/hubctl_audit.h"
#include "proto/wire.h"
#include "store/store.h"
#include "store/store_password.h"

/* What every step of an assignment reads. */
typedef struct {
	const ug_config *cfg;
	store *store;
	ug_keys *keys;
} ctl;

/* The hub clock as hubd reads it: a test's clock_file when one is set, so
 * an assignment's default first day and its receipt time agree with the
 * hub's today (RULES.md section 1). The audit trail keeps the system
 * clock (SECURITY.md). */
static int64_t
ctl_now(const ctl *c)
{
	const char *path = ug_config_get(c->cfg, "clock_file");
	int64_t ms;
	if (path && path[0] && ug_clock_file_ms(path, &ms))
		return ms;
	return ug_now_ms();
}

/* One assignment as the store wants it, with the envelope it logs. */
typedef struct {
	wire_envelope env;
	Ungebro__V1__ContactAssignment payload;
	char cpr[11], caseworker[STORE_ID_MAX], from[11], to[11];
	int role; /* a ContactRole */
	uint8_t event_id[WIRE_EVENT_ID_LEN];
	uint8_t person_key[UG_PERSON_KEY_LEN];
	uint8_t body[1024];
	store_event ev;
	long line; /* of --file, else 0 */
} assignment;

/* A role as an operator writes it, decided as the hub decides it. */
static int
role_parse(const char *text)
{
	Ungebro__V1__ContactAssignment probe =
	    UNGEBRO__V1__CONTACT_ASSIGNMENT__INIT;
	probe.role = (char *)text;
	return wire_assignment_role(&probe);
}

/* A date of the command line (YYYY-MM-DD), or of a file row in any of
 * the forms the youth unit's adapter reads (ug_date_form_iso). */
static ug_err
date_parse(const char *text, bool file, int32_t *day)
{
	char iso[11];
	if (file)
		return ug_date_form_iso(text, iso) ? ug_date_parse(iso, day)
						   : UG_EMALFORMED;
	return ug_date_parse(text, day);
}

/* file: the values are a --file row's, read as the youth unit's adapter
 * reads them (common/assignment_file.h): its role words and date forms,
 * 9999-12-31 for no end. */
static ug_err
build_assignment(ctl *c, assignment *a, const char *cpr, const char *cw,
		 const char *from, const char *to, const char *role, bool file,
		 ug_diag *diag)
{
	memset(a, 0, sizeof *a);
	int32_t from_day = (int32_t)(ctl_now(c) / UG_DAY_MS), to_day = 0;
	uint32_t flags;
	const char *why;
	if (file) {
		a->role = role[0] ? ug_assign_role(role) : UG_ASSIGN_CONTACT;
		if (a->role < 0) {
			ug_diag_set(diag, "role",
				    "the role must be " WIRE_ROLE_ACCEPTED
				    " (" UG_ASSIGN_ROLE_WORDS
				    "; empty means contact)");
			return UG_EMALFORMED;
		}
		if (ug_date_no_end(to))
			to = "";
	} else if ((a->role = role_parse(role)) == WIRE_ROLE_INVALID) {
		ug_diag_set(diag, "role",
			    "the role must be " WIRE_ROLE_ACCEPTED
			    " (empty means contact)");
		return UG_EMALFORMED;
	}
	/* The forms a date may take here, for the reasons below. */
	const char *forms =
	    file ? "YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY" : "YYYY-MM-DD";
	if (ug_cpr_parse(cpr, strlen(cpr), a->cpr, &why) != UG_OK) {
		ug_diag_set(diag, "cpr", "%s", why);
		return UG_EMALFORMED;
	}
	/* Not quoted, here or below: a file's columns may be swapped, and
	 * the value then a CPR (OPERATIONS.md: never the row's values). */
	if (!ug_id_valid(cw)) {
		ug_diag_set(diag, "caseworker",
			    "the caseworker is not a valid id " UG_ID_RULE);
		return UG_EMALFORMED;
	}
	if (store_principal_flags(c->store, STORE_CASEWORKER, cw, &flags) !=
	    UG_OK) {
		ug_diag_set(diag, "caseworker",
			    "the caseworker is not "
			    "registered (hubctl register-caseworker)");
		return UG_EMALFORMED;
	}
	/* A web gateway is registered beside the caseworkers but is none:
	 * alerts addressed to it would reach no one. */
	if (flags & STORE_FLAG_GATEWAY) {
		ug_diag_set(diag, "caseworker",
			    "this id is a web gateway (hubctl "
			    "register-gateway), not a caseworker");
		return UG_EMALFORMED;
	}
	/* Each named on its own: a file's bad to column is not its from. */
	if (from[0] && date_parse(from, file, &from_day) != UG_OK) {
		ug_diag_set(diag, "from",
			    "dates must be a real day %s in the years "
			    "1900-2199",
			    forms);
		return UG_EMALFORMED;
	}
	if (to[0] && date_parse(to, file, &to_day) != UG_OK) {
		ug_diag_set(diag, "to",
			    "dates must be a real day %s in the years "
			    "1900-2199; leave to empty%s for no end",
			    forms, file ? " (or 9999-12-31)" : "");
		return UG_EMALFORMED;
	}
	if (to[0] && to_day < from_day) {
		ug_diag_set(diag, "to", "to is before from");
		return UG_EMALFORMED;
	}
	ug_strlcpy(a->caseworker, cw, sizeof a->caseworker);
	ug_date_format(from_day, a->from);
	if (to[0])
		ug_date_format(to_day, a->to);
	const char *role_name = wire_contact_role_name(a->role);

	char natural[256];
	int len = snprintf(natural, sizeof natural,
			   "assign\x1f%s\x1f%s\x1f%s"
			   "\x1f%s\x1f%s",
			   a->cpr, a->caseworker, a->from, a->to, role_name);
	int64_t occurred = (int64_t)from_day * UG_DAY_MS;
	ug_put_be64(a->event_id, (uint64_t)occurred);
	uint8_t hash[16];
	ug_keyed_hash(c->keys->hash_key, natural, (size_t)len, hash, 16);
	memcpy(a->event_id + 8, hash, 8);
	ug_person_key(c->keys->hash_key, a->cpr, a->person_key);
	/* The id is the content's, so an assignment made again after another
	 * replaced it (cw-anna, cw-bob, cw-anna from one day), or after it
	 * was not kept past the 8 from days, would be "already known" and
	 * change nothing: while the store does not keep this one for that
	 * day, it is stored anew under an id of its own. */
	char held[STORE_ID_MAX], by[STORE_ID_MAX];
	int32_t held_to = 0;
	uint64_t seq;
	/* A mentor's are not kept in the store: the id alone says. */
	bool routed =
	    a->role != UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_MENTOR;
	ug_err at =
	    routed
		? store_assignment_at(
		      c->store, a->person_key,
		      a->role ==
			      UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_GUIDANCE
			  ? STORE_ROLE_GUIDANCE
			  : STORE_ROLE_CONTACT,
		      from_day, held, &held_to)
		: UG_OK;
	bool not_held =
	    routed && (at == UG_ENOTFOUND ||
		       (at == UG_OK && (strcmp(held, a->caseworker) != 0 ||
					held_to != to_day)));
	if (not_held &&
	    store_event_id_get(c->store, a->event_id, &seq, by) == UG_OK) {
		uint64_t last = 0;
		(void)store_log_last(c->store, &last);
		len += snprintf(natural + len, sizeof natural - (size_t)len,
				"\x1f%llu", (unsigned long long)last);
		ug_keyed_hash(c->keys->hash_key, natural, (size_t)len, hash,
			      16);
		memcpy(a->event_id + 8, hash, 8);
	}

	ungebro__v1__contact_assignment__init(&a->payload);
	a->payload.caseworker = a->caseworker;
	/* Both: role_kind for the hub, the text for older readers. */
	a->payload.role = (char *)role_name;
	a->payload.role_kind = (Ungebro__V1__ContactRole)a->role;
	a->payload.from = a->from;
	a->payload.to = a->to;
	ungebro__v1__envelope__init(&a->env);
	a->env.event_id.data = a->event_id;
	a->env.event_id.len = WIRE_EVENT_ID_LEN;
	a->env.agency = HUBCTL_AGENCY;
	a->env.schema_version = WIRE_SCHEMA_VERSION;
	a->env.type = UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT;
	a->env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	a->env.occurred_at = occurred;
	a->env.sent_at = ctl_now(c);
	a->env.cpr = a->cpr;
	a->env.payload_case =
	    UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT;
	a->env.contact_assignment = &a->payload;
	if (wire_packed_size(&a->env) > sizeof a->body) {
		ug_diag_set(diag, "role", "assignment too large");
		return UG_EMALFORMED;
	}
	a->ev = (store_event){
	    .event_id = a->event_id,
	    .agency = HUBCTL_AGENCY,
	    .type = UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT,
	    .person_key = a->person_key,
	    .received_at = ctl_now(c),
	    .body = a->body,
	    .body_len = wire_pack(&a->env, a->body),
	    /* A mentor is logged but routes nothing. */
	    .assign_caseworker =
		a->role == UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_MENTOR
		    ? NULL
		    : a->caseworker,
	    .assign_role =
		a->role == UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_GUIDANCE
		    ? STORE_ROLE_GUIDANCE
		    : STORE_ROLE_CONTACT,
	    .assign_from = from_day,
	    .assign_to = to_day,
	};
	return UG_OK;
}

/* The assignments' audit records, built inside the append's transaction
 * once each one's status is known. */
typedef struct {
	const assignment *batch;
	char who[STORE_ID_MAX];
	store_audit_entry *e;
	char (*detail)[256];
} assign_records;

/* One audit record per assignment (the person key, never the CPR), in
 * the append's own transaction: an assignment is stored with its record
 * or not at all. */
static ug_err
audit_assignments(void *ctx, const store_event *events, size_t n,
		  const store_audit_entry **out, size_t *nout)
{
	assign_records *r = ctx;
	r->e = calloc(n, sizeof *r->e);
	r->detail = calloc(n, sizeof *r->detail);
	if (!r->e || !r->detail)
		return UG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const assignment *a = &r->batch[i];
		int len = snprintf(
		    r->detail[i], sizeof r->detail[i], "%s %s from %s%s%s",
		    wire_contact_role_name(a->role), a->caseworker, a->from,
		    a->to[0] ? " to " : "", a->to);
		/* The trail must not show a handover as made that routes
		 * nothing. */
		if (events[i].assign_dropped) {
			char day[11];
			ug_date_format(events[i].assign_dropped_from, day);
			snprintf(r->detail[i] + len,
				 sizeof r->detail[i] - (size_t)len,
				 "; not kept: %s from %s (8 from days)",
				 events[i].assign_dropped_caseworker, day);
		}
		r->e[i] = (store_audit_entry){
		    ug_now_ms(),
		    r->who,
		    NULL,
		    "assign",
		    events[i].status == STORE_NEW ? "ok" : "already-known",
		    a->person_key,
		    r->detail[i]};
	}
	*out = r->e;
	*nout = n;
	return UG_OK;
}

/* Why the store took no write, as the other writing commands say it. */
static const char *
store_refusal(ug_err err)
{
	return err == UG_EFULL ? "the store is full (log_map_mb)"
			       : ug_strerror(err);
}

/* Append a run of assignments in one transaction with their records,
 * then sign a checkpoint; counts new ones. path: the --file read, or
 * NULL. */
static ug_err
flush_assignments(ctl *c, const char *path, assignment *batch, size_t n,
		  size_t *added, size_t *dups)
{
	store_event *events = calloc(n ? n : 1, sizeof *events);
	if (!events)
		return UG_ENOMEM;
	for (size_t i = 0; i < n; i++)
		events[i] = batch[i].ev;
	assign_records r = {.batch = batch};
	hubctl_audit_operator(r.who);
	bool logged = false;
	ug_err err = n ? store_append_audited(c->store, events, n,
					      audit_assignments, &r, &logged)
		       : UG_OK;
	/* The log took them with their records and only the event-id
	 * index's commit after it failed (a full disk, which STORE-LMDB has
	 * named): they are stored, and the index catches up from the log at
	 * the next open or append. Saying "nothing changed" would be false. */
	if (logged)
		err = UG_OK;
	free(r.e);
	free(r.detail);
	for (size_t i = 0; err == UG_OK && i < n; i++) {
		batch[i].ev.status = events[i].status;
		if (events[i].status == STORE_NEW)
			(*added)++;
		else
			(*dups)++;
		/* Stored, yet a planned handover that will route nothing: the
		 * operator would otherwise count on it. */
		if (events[i].assign_dropped) {
			char day[11], where[24];
			ug_date_format(events[i].assign_dropped_from, day);
			if (path)
				snprintf(where, sizeof where, "%ld",
					 batch[i].line);
			ug_eprintf(
			    "%s%s%s: the assignment to %s from %s is not "
			    "kept: at most 8 from days are kept per "
			    "person and role, and it is the one planned "
			    "furthest ahead; assign it again once "
			    "another has begun\n",
			    path ? path : "hubctl: assign", path ? ":" : "",
			    path ? where : "",
			    events[i].assign_dropped_caseworker, day);
		}
	}
	free(events);
	if (err == UG_OK && n && c->keys->sign_secret) {
		ug_err signed_err =
		    store_audit_checkpoint(c->store, ug_now_ms());
		if (signed_err != UG_OK)
			ug_eprintf("hubctl: the assignments' records were not "
				   "signed into a checkpoint: %s\n",
				   ug_strerror(signed_err));
	}
	return err;
}

/* Whether a row not yet stored is for the same person, role and from
 * day as a: built before it was, a's id would not know it replaced one. */
static bool
pending_same_day(const assignment *batch, size_t n, const assignment *a)
{
	for (size_t i = 0; i < n; i++)
		if (batch[i].role == a->role &&
		    strcmp(batch[i].from, a->from) == 0 &&
		    memcmp(batch[i].person_key, a->person_key,
			   UG_PERSON_KEY_LEN) == 0)
			return true;
	return false;
}

/* The columns of an assignments file, in any order (csv.h matches the
 * names: case does not matter, blanks and '-' read as '_'), also by the
 * youth unit adapter's names for them; others are ignored. A
 * spreadsheet's "Case worker" is the caseworker too. */
enum { COL_CPR, COL_CASEWORKER, COL_FROM, COL_TO, COL_ROLE, COL_COUNT };
static const csv_column assign_columns[] = {
    [COL_CPR] = {"cpr", {UG_ASSIGN_CPR_ALIASES}, true},
    [COL_CASEWORKER] = {"caseworker", {UG_ASSIGN_CASEWORKER_ALIASES}, true},
    [COL_FROM] = {"from", {UG_ASSIGN_FROM_ALIASES}, false},
    [COL_TO] = {"to", {UG_ASSIGN_TO_ALIASES}, false},
    [COL_ROLE] = {"role", {UG_ASSIGN_ROLE_ALIASES}, false},
    {NULL, {NULL}, false},
};

/* The bytes read ahead of a file that cannot be read again (a pipe), and
 * then the rest of it: the stream the CSV reader reads instead. */
typedef struct {
	FILE *f;
	unsigned char head[4];
	size_t len, pos;
} read_ahead;

static ssize_t
read_ahead_read(void *cookie, char *buf, size_t size)
{
	read_ahead *a = cookie;
	if (a->pos < a->len) {
		size_t n = a->len - a->pos < size ? a->len - a->pos : size;
		memcpy(buf, a->head + a->pos, n);
		a->pos += n;
		return (ssize_t)n;
	}
	size_t n = fread(buf, 1, size, a->f);
	return n == 0 && ferror(a->f) ? -1 : (ssize_t)n;
}

static int
read_ahead_close(void *cookie)
{
	read_ahead *a = cookie;
	int rc = fclose(a->f);
	sodium_memzero(a, sizeof *a); /* the start of a row: a CPR */
	free(a);
	return rc;
}

/*
 * The youth unit's export read as its adapter reads it (common/csv.h:
 * quoting, ';' or ',', BOM, CRLF, line breaks inside quotes), so a
 * quoted field with a separator in it is one field here too.
 */
static int
assign_file(ctl *c, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		ug_eprintf("hubctl: cannot open %s: %s\n", path,
			   strerror(errno));
		return 1;
	}
	/* A directory opens for reading; its first read would be blamed on
	 * line 1 of a file that has none. */
	struct stat st;
	bool stat_ok = fstat(fileno(f), &st) == 0;
	if (stat_ok && S_ISDIR(st.st_mode)) {
		ug_eprintf("hubctl: cannot read %s: %s\n", path,
			   strerror(EISDIR));
		fclose(f);
		return 1;
	}
	/* The youth unit's adapter also reads JSON Lines; read as CSV, its
	 * first '{' line would be blamed on a quote. A pipe (--file
	 * /dev/stdin) cannot be read again: its first bytes are read to
	 * the CSV reader ahead of the rest. */
	read_ahead *a = calloc(1, sizeof *a);
	if (!a) {
		ug_eprintf("hubctl: %s\n", ug_strerror(UG_ENOMEM));
		fclose(f);
		return 1;
	}
	a->len = fread(a->head, 1, sizeof a->head, f);
	size_t at =
	    a->len >= 3 && memcmp(a->head, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	if (a->len > at && a->head[at] == '{') {
		ug_eprintf("hubctl: %s: the file is JSON Lines; assign --file "
			   "reads CSV only (import JSON Lines with "
			   "adapter-youthunit)\n",
			   path);
		sodium_memzero(a, sizeof *a);
		free(a);
		fclose(f);
		return 1;
	}
	if (stat_ok && S_ISREG(st.st_mode)) {
		sodium_memzero(a, sizeof *a);
		free(a);
		rewind(f);
	} else {
		a->f = f;
		f = fopencookie(
		    a, "r",
		    (cookie_io_functions_t){.read = read_ahead_read,
					    .close = read_ahead_close});
		if (!f) {
			ug_eprintf("hubctl: %s\n", ug_strerror(UG_ENOMEM));
			fclose(a->f);
			free(a);
			return 1;
		}
	}
	enum { BATCH = 512 };
	assignment *batch = calloc(BATCH, sizeof *batch);
	csv_reader *r = NULL;
	ug_diag diag = {0};
	int idx[COL_COUNT];
	size_t n = 0, added = 0, dups = 0, bad = 0;
	bool unread = false;
	int rc = 1;
	ug_err err = batch ? csv_reader_new(&r, f, path, &diag) : UG_ENOMEM;
	if (err == UG_OK)
		err = csv_map_columns(r, assign_columns, idx, NULL, 0, &diag);
	if (err != UG_OK && err != UG_ENOMEM && r)
		csv_header_misread(r, &diag);
	if (err != UG_OK) {
		const char *why =
		    err == UG_ENOMEM ? ug_strerror(err) : diag.reason;
		/* Line 0: the whole file's line ends, no one line of it. */
		if (diag.line > 0)
			ug_eprintf("hubctl: %s:%ld: %s\n", path, diag.line,
				   why);
		else
			ug_eprintf("hubctl: %s: %s\n", path, why);
		goto out;
	}
	while (err == UG_OK) {
		memset(&diag, 0, sizeof diag);
		ug_err row = csv_next(r, &diag);
		if (row == UG_ENOTFOUND)
			break;
		if (row == UG_OK && csv_repeats_header(r)) {
			/* Read as data, its role cell would take the blame. */
			ug_diag_set(
			    &diag, "",
			    "the row repeats the header row (are two "
			    "exports joined into one file?): delete it");
			diag.line = csv_line(r);
			row = UG_EMALFORMED;
		} else if (row == UG_OK) {
			const char *field[COL_COUNT];
			for (int i = 0; i < COL_COUNT; i++)
				field[i] = idx[i] >= 0
					       ? csv_field(r, (size_t)idx[i])
					       : "";
			row = build_assignment(c, &batch[n], field[COL_CPR],
					       field[COL_CASEWORKER],
					       field[COL_FROM], field[COL_TO],
					       field[COL_ROLE], true, &diag);
			/* cw-anna, cw-bob, cw-anna from one day: the rows
			 * before are stored first, so this one is built
			 * knowing what it replaces, as by hubctl run thrice.
			 */
			if (row == UG_OK &&
			    pending_same_day(batch, n, &batch[n])) {
				err = flush_assignments(c, path, batch, n,
							&added, &dups);
				n = 0;
				if (err != UG_OK)
					break;
				row = build_assignment(
				    c, &batch[0], field[COL_CPR],
				    field[COL_CASEWORKER], field[COL_FROM],
				    field[COL_TO], field[COL_ROLE], true,
				    &diag);
			}
			ug_strlcpy(diag.file, path, sizeof diag.file);
			diag.line = csv_line(r);
			batch[n].line = diag.line;
		}
		if (row == UG_EIO) {
			err = row;
			unread = true;
		} else if (row != UG_OK) {
			/* A column hubctl reads is named in its words, also
			 * where its text is bad ("CPR" as "cpr"): one column,
			 * one name. */
			for (int i = 0; i < COL_COUNT; i++)
				if (idx[i] >= 0 &&
				    strcmp(diag.field,
					   csv_header_name(
					       r, (size_t)idx[i])) == 0) {
					ug_strlcpy(diag.field,
						   assign_columns[i].name,
						   sizeof diag.field);
					break;
				}
			ug_eprintf("%s:%ld: %s%s%s%s\n", path, diag.line,
				   diag.field[0] ? "column " : "", diag.field,
				   diag.field[0] ? ": " : "", diag.reason);
			bad++;
		} else if (++n == BATCH) {
			err = flush_assignments(c, path, batch, n, &added,
						&dups);
			n = 0;
		}
	}
	if (err == UG_OK)
		err = flush_assignments(c, path, batch, n, &added, &dups);
	/* A store that failed (a full disk: STORE-LMDB above says so) is a
	 * refusal like a full map, with what was stored before it; only a
	 * file that could not be read has a reason of its own. */
	if (unread) {
		ug_eprintf("hubctl: storing assignments: %s\n", diag.reason);
		goto out;
	}
	if (err != UG_OK) {
		/* Each batch of rows is stored whole with its records, or
		 * not: the rows stored before stay, and a run again finds
		 * them already known. */
		ug_eprintf("hubctl: assign: %s: %zu assignments stored, the "
			   "rest of %s not: run it again\n",
			   store_refusal(err), added + dups, path);
		goto out;
	}
	printf("assignments: %zu new, %zu already known, %zu rejected\n",
	       added, dups, bad);
	rc = bad ? 1 : 0;
out:
	csv_reader_destroy(&r);
	free(batch);
	fclose(f);
	return rc;
}

/* assign's usage errors, found before the store is opened: exit 2 and
 * nothing read or written. An unknown --role is one, --file or not, so
 * "coach" never becomes a contact person by accident. */
bool
hubctl_assign_usage_ok(const ug_config *cfg)
{
	const char *role = ug_config_get(cfg, "role");
	if (role_parse(role) == WIRE_ROLE_INVALID) {
		ug_eprintf("hubctl: %sunknown role '%s': --role must "
			   "be " WIRE_ROLE_ACCEPTED "\n",
			   ug_config_where(cfg, "role"), role);
		return false;
	}
	/* An unset variable (--file "$F"): "needs ... or --file" would
	 * deny the option the operator gave. */
	if (!ug_config_get(cfg, "file")[0] &&
	    (ug_config_given(cfg, "file") ||
	     ug_config_where(cfg, "file")[0])) {
		ug_eprintf("hubctl: %sassign: --file is empty\n",
			   ug_config_where(cfg, "file"));
		return false;
	}
	/* A file's rows bring their own: a --from meant for all of them
	 * would otherwise be dropped without a word, and a --role guidance
	 * would make every row of a file without a role column a contact
	 * person. */
	static const char *const per_row[] = {"cpr", "caseworker", "from",
					      "to", "role"};
	for (size_t i = 0; ug_config_get(cfg, "file")[0] &&
			   i < sizeof per_row / sizeof *per_row;
	     i++) {
		/* Read from a --config file, as dropped without a word. */
		const char *at = ug_config_where(cfg, per_row[i]);
		if (ug_config_given(cfg, per_row[i]) ||
		    (at[0] && ug_config_get(cfg, per_row[i])[0])) {
			ug_eprintf("hubctl: %sassign: --%s does not apply "
				   "with --file (the file's %s column "
				   "decides)\n",
				   at, per_row[i], per_row[i]);
			return false;
		}
	}
	if (!ug_config_get(cfg, "file")[0] &&
	    (!ug_config_get(cfg, "cpr")[0] ||
	     !ug_config_get(cfg, "caseworker")[0])) {
		ug_eprintf("hubctl: assign needs --cpr and --caseworker, "
			   "or --file\n");
		return false;
	}
	/* An id that is no id is a typo, as for every other command, not a
	 * caseworker who happens not to be registered. Not quoted: swapped
	 * arguments would put the CPR there. */
	if (!ug_config_get(cfg, "file")[0] &&
	    !ug_id_valid(ug_config_get(cfg, "caseworker"))) {
		ug_eprintf("hubctl: %sassign: --caseworker is not a valid "
			   "id " UG_ID_RULE "\n",
			   ug_config_where(cfg, "caseworker"));
		return false;
	}
	return true;
}

int
hubctl_assign(const ug_config *cfg, store *s, ug_keys *keys)
{
	ctl ctx = {cfg, s, keys}, *c = &ctx;
	const char *file = ug_config_get(c->cfg, "file");
	if (file[0])
		return assign_file(c, file);
	const char *cpr = ug_config_get(c->cfg, "cpr");
	const char *cw = ug_config_get(c->cfg, "caseworker");
	assignment *a = calloc(1, sizeof *a);
	ug_diag diag = {0};
	size_t added = 0, dups = 0;
	int rc = 1;
	ug_err err;
	if (!a)
		return 1;
	if (build_assignment(c, a, cpr, cw, ug_config_get(c->cfg, "from"),
			     ug_config_get(c->cfg, "to"),
			     ug_config_get(c->cfg, "role"), false,
			     &diag) != UG_OK)
		ug_eprintf("hubctl: %s%s: %s\n",
			   ug_config_where(c->cfg, diag.field), diag.field,
			   diag.reason);
	else if ((err = flush_assignments(c, NULL, a, 1, &added, &dups)) !=
		 UG_OK)
		ug_eprintf("hubctl: assign: %s: nothing changed\n",
			   store_refusal(err));
	else {
		ug_oprintf("assigned to %s from %s%s\n", a->caseworker,
			   a->from, dups ? " (already known)" : "");
		rc = 0;
	}
	free(a);
	return rc;
}
