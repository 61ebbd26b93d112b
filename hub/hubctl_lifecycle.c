/*
 * hubctl export and erase. Both walk the whole log and take the records
 * whose sealed person key is the keyed hash of --cpr: the log is the
 * truth, and the person index (derived, rebuilt, possibly behind hubd)
 * could miss a record hubd has not applied yet. Export writes JSON (the
 * envelopes decoded field by field from their protobuf descriptors, so a
 * new payload type needs no code here). Erase hands the records to
 * store_purge with the person key, which removes the person's state in
 * the same two transactions; it is safe while hubd runs (see
 * store_lifecycle.c on the lock order).
 */
#include "hub/hubctl_lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <protobuf-c/protobuf-c.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/util.h"
#include "hub/engine.h"
#include "hub/hubctl_audit.h"
#include "proto/wire.h"

#define REASON_MAX 200

static void
json_str(FILE *f, const char *text)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void
json_hex(FILE *f, const uint8_t *bytes, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", bytes[i]);
	fputc('"', f);
}

static void json_message(FILE *f, const ProtobufCMessage *m);

static void
json_value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *v)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(f, "%d", *(const int32_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(f, "%u", *(const uint32_t *)v);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(f, "%lld", (long long)*(const int64_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fprintf(f, "%llu", (unsigned long long)*(const uint64_t *)v);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		fprintf(f, "%g", (double)*(const float *)v);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		fprintf(f, "%g", *(const double *)v);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)v ? "true" : "false", f);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev =
		    protobuf_c_enum_descriptor_get_value(fd->descriptor,
							 *(const int *)v);
		if (ev)
			json_str(f, ev->name);
		else
			fprintf(f, "%d", *(const int *)v);
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)v;
		json_str(f, s ? s : "");
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = v;
		json_hex(f, b->data, b->len);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)v;
		if (sub)
			json_message(f, sub);
		else
			fputs("null", f);
		break;
	}
	}
}

static size_t
value_size(const ProtobufCFieldDescriptor *fd)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

/* Whether a singular field holds a value worth writing. */
static bool
present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	const char *base = (const char *)m;
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + fd->quantifier_offset) ==
		       fd->id;
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset &&
	    fd->type != PROTOBUF_C_TYPE_STRING &&
	    fd->type != PROTOBUF_C_TYPE_MESSAGE)
		return *(const protobuf_c_boolean *)(base +
						     fd->quantifier_offset);
	if (fd->type == PROTOBUF_C_TYPE_MESSAGE ||
	    fd->type == PROTOBUF_C_TYPE_STRING)
		return *(void *const *)(base + fd->offset) != NULL;
	return true;
}

/* The message as a JSON object, every field by its proto name. */
static void
json_message(FILE *f, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	const char *sep = "";
	fputc('{', f);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n =
			    *(const size_t *)(base + fd->quantifier_offset);
			const char *arr = *(char *const *)(base + fd->offset);
			fprintf(f, "%s\"%s\": [", sep, fd->name);
			for (size_t j = 0; j < n; j++) {
				if (j)
					fputs(", ", f);
				json_value(f, fd, arr + j * value_size(fd));
			}
			fputc(']', f);
		} else if (present(m, fd)) {
			fprintf(f, "%s\"%s\": ", sep, fd->name);
			json_value(f, fd, base + fd->offset);
		} else {
			continue;
		}
		sep = ", ";
	}
	fputc('}', f);
}

/* ---- finding the person's records ---- */

typedef struct {
	uint8_t person_key[UG_PERSON_KEY_LEN];
	FILE *out; /* export: events are written as found */
	size_t n, cap;
	store_purge_item *items; /* seq, event id of each record found */
	size_t actions;
	/* The log records that do not open (STORE-SEAL): whose they are is
	 * sealed in them, so they may be the person's. theirs[i] when the
	 * person's index names unopened[i] as theirs. */
	size_t nun, capun;
	uint64_t *unopened;
	bool *theirs;
	size_t ntheirs;
} person_scan;

static ug_err
take_unopened(void *ctx, uint64_t seq)
{
	person_scan *p = ctx;
	if (p->nun == p->capun) {
		size_t cap = p->capun ? 2 * p->capun : 16;
		uint64_t *more = realloc(p->unopened, cap * sizeof *more);
		if (!more)
			return UG_ENOMEM;
		p->unopened = more;
		bool *t = realloc(p->theirs, cap * sizeof *t);
		if (!t)
			return UG_ENOMEM;
		p->theirs = t;
		p->capun = cap;
	}
	p->theirs[p->nun] = false;
	p->unopened[p->nun++] = seq;
	return UG_OK;
}

static ug_err
mark_theirs(void *ctx, uint64_t seq)
{
	person_scan *p = ctx;
	for (size_t i = 0; i < p->nun; i++)
		if (p->unopened[i] == seq && !p->theirs[i]) {
			p->theirs[i] = true;
			p->ntheirs++;
		}
	return UG_OK;
}

static void
free_scan(person_scan *p)
{
	free(p->items);
	free(p->unopened);
	free(p->theirs);
}

/* The first of the records that do not open, for a message or an audit
 * detail: "2, 7, 9" or "2, 7, 9, ... (12 in all)". */
static void
unopened_list(const person_scan *p, bool theirs, char *out, size_t len)
{
	uint64_t first[UG_SEQ_LIST_SHOWN];
	size_t shown = 0, all = 0;
	for (size_t i = 0; i < p->nun; i++)
		if (p->theirs[i] == theirs) {
			if (shown < UG_SEQ_LIST_SHOWN)
				first[shown++] = p->unopened[i];
			all++;
		}
	ug_seq_list(first, shown, all, out, len);
}

/* One more record to delete (erase) or count (export), NULL when out of
 * memory. */
static store_purge_item *
new_item(person_scan *p, uint64_t seq)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		store_purge_item *more = realloc(p->items, cap * sizeof *more);
		if (!more)
			return NULL;
		p->items = more;
		p->cap = cap;
	}
	store_purge_item *it = &p->items[p->n++];
	memset(it, 0, sizeof *it);
	it->seq = seq;
	return it;
}

static ug_err
take_record(void *ctx, const store_record *rec)
{
	person_scan *p = ctx;
	if (!rec->person_key || sodium_memcmp(rec->person_key, p->person_key,
					      UG_PERSON_KEY_LEN) != 0)
		return UG_OK;
	store_purge_item *it = new_item(p, rec->seq);
	if (!it)
		return UG_ENOMEM;
	it->has_person = true;
	memcpy(it->person_key, rec->person_key, UG_PERSON_KEY_LEN);
	wire_envelope *env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
					 rec->body, rec->body_len);
	if (env && env->event_id.len == STORE_EVENT_ID_LEN)
		memcpy(it->event_id, env->event_id.data, STORE_EVENT_ID_LEN);
	if (p->out) {
		bool action =
		    rec->type == UNGEBRO__V1__EVENT_TYPE__CASEWORKER_ACTION;
		p->actions += action;
		fprintf(p->out, "%s\n    {\"seq\": %llu, \"type\": ",
			p->n > 1 ? "," : "", (unsigned long long)rec->seq);
		json_str(p->out, wire_event_type_name((int)rec->type));
		fprintf(p->out, ", \"action\": %s, \"agency\": ",
			action ? "true" : "false");
		json_str(p->out, rec->agency);
		fprintf(p->out, ", \"received_at\": %lld, \"envelope\": ",
			(long long)rec->received_at);
		if (env)
			json_message(p->out, &env->base);
		else
			fputs("null", p->out);
		fputc('}', p->out);
	}
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
	return UG_OK;
}

static ug_err
scan_person(store *s, person_scan *p)
{
	uint64_t next = 1, last = 0;
	do {
		last = next;
		ug_err err = store_log_scan_opened(s, next, 4096, take_record,
						   take_unopened, p, &next);
		if (err != UG_OK)
			return err;
	} while (next != last);
	return UG_OK;
}

/* The person's index says which records that do not open are theirs; one
 * it does not name may still be (one never applied, an index rebuilt
 * since): hubctl cannot tell. */
static ug_err
find_theirs(store *s, person_scan *p)
{
	return p->nun ? store_person_events(s, p->person_key, mark_theirs, p)
		      : UG_OK;
}

/* --cpr as the person key; false (usage) when it is no CPR number. */
static bool
person_key_of(const ug_config *cfg, const ug_keys *keys,
	      uint8_t out[UG_PERSON_KEY_LEN], char norm[11])
{
	const char *cpr = ug_config_get(cfg, "cpr");
	const char *why;
	if (ug_cpr_parse(cpr, strlen(cpr), norm, &why) != UG_OK) {
		ug_eprintf("hubctl: %s--cpr: %s\n",
			   ug_config_where(cfg, "cpr"), why);
		return false;
	}
	if (keys)
		ug_person_key(keys->hash_key, norm, out);
	return true;
}

/* ASCII white space, and what states no ground either though it is not
 * ASCII: every other character Unicode calls white space, such as the
 * non-breaking spaces a word processor fills a field with (U+00A0,
 * U+202F), the ideographic space of an East Asian keyboard (U+3000) and
 * Unicode's line breaks (U+0085, U+2028, U+2029). */
static bool
blank_only(const char *text)
{
	static const char *const wide[] = {
	    "\xc2\xa0",	    "\xe2\x80\xaf", "\xc2\x85",	    "\xe2\x80\xa8",
	    "\xe2\x80\xa9", "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x81",
	    "\xe2\x80\x82", "\xe2\x80\x83", "\xe2\x80\x84", "\xe2\x80\x85",
	    "\xe2\x80\x86", "\xe2\x80\x87", "\xe2\x80\x88", "\xe2\x80\x89",
	    "\xe2\x80\x8a", "\xe2\x81\x9f", "\xe3\x80\x80"};
	for (const char *p = text; *p;) {
		size_t n = strspn(p, " \t\r\n\v\f");
		for (size_t k = 0; !n && k < sizeof wide / sizeof *wide; k++)
			if (strncmp(p, wide[k], strlen(wide[k])) == 0)
				n = strlen(wide[k]);
		if (!n)
			return false;
		p += n;
	}
	return true;
}

bool
hubctl_lifecycle_usage_ok(const ug_config *cfg, const char *cmd)
{
	uint8_t pk[UG_PERSON_KEY_LEN];
	char norm[11];
	if (!ug_config_get(cfg, "cpr")[0]) {
		ug_eprintf("hubctl: %s needs --cpr CPR\n", cmd);
		return false;
	}
	if (!person_key_of(cfg, NULL, pk, norm))
		return false;
	/* An unset variable (--out "$FILE") would put the person's data
	 * on standard output, into a cron mail or a log, not in a file. */
	if (strcmp(cmd, "export") == 0 && !ug_config_get(cfg, "out")[0] &&
	    (ug_config_given(cfg, "out") || ug_config_where(cfg, "out")[0])) {
		ug_eprintf(
		    "hubctl: %sexport: --out is empty (leave it out, or "
		    "give --out -, for standard output)\n",
		    ug_config_where(cfg, "out"));
		return false;
	}
	if (strcmp(cmd, "erase") != 0)
		return true;
	const char *reason = ug_config_get(cfg, "reason");
	/* The reason's digits alone: the CPR's ten in a row there are the
	 * CPR however they were written (a word processor's dash, digits in
	 * pairs), and the audit trail must never hold it. */
	char digits[REASON_MAX + 1];
	size_t n = 0;
	for (const char *p = reason; *p && n < sizeof digits - 1; p++)
		if (*p >= '0' && *p <= '9')
			digits[n++] = *p;
	digits[n] = '\0';
	bool ok = true;
	/* Blanks alone would record an erasure with no ground at all. */
	if (!reason[0] || blank_only(reason) || strlen(reason) > REASON_MAX) {
		ug_eprintf(
		    "hubctl: %serase needs --reason TEXT (1-%d "
		    "bytes, not white space alone): the lawful ground, kept "
		    "in the audit trail\n",
		    ug_config_where(cfg, "reason"), REASON_MAX);
		ok = false;
	} else if (strstr(digits, norm)) {
		ug_eprintf("hubctl: %s--reason must not contain the CPR "
			   "number\n",
			   ug_config_where(cfg, "reason"));
		ok = false;
	} else if (!ug_utf8_valid(reason, strlen(reason))) {
		/* Kept as typed, it would make the person's export and
		 * audit show --json invalid UTF-8 (a Latin-1 terminal). */
		ug_eprintf("hubctl: %s--reason must be UTF-8 text\n",
			   ug_config_where(cfg, "reason"));
		ok = false;
	}
	sodium_memzero(norm, sizeof norm);
	sodium_memzero(digits, sizeof digits);
	return ok;
}

/* ---- export ---- */

typedef struct {
	store *s;
	FILE *out;
	size_t n, cap;
	uint8_t (*ids)[STORE_ALERT_ID_LEN];
} alert_set;

static ug_err
add_alert_id(void *ctx, const uint8_t *id)
{
	alert_set *a = ctx;
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(a->ids[i], id, STORE_ALERT_ID_LEN) == 0)
			return UG_OK;
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 32;
		void *more = realloc(a->ids, cap * sizeof *a->ids);
		if (!more)
			return UG_ENOMEM;
		a->ids = more;
		a->cap = cap;
	}
	memcpy(a->ids[a->n++], id, STORE_ALERT_ID_LEN);
	return UG_OK;
}

static ug_err
write_alert_body(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
		 uint32_t deliveries)
{
	alert_set *a = ctx;
	(void)id;
	fprintf(a->out, ", \"deliveries\": %u, \"alert\": ", deliveries);
	wire_alert *al =
	    wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, body, len);
	if (al)
		json_message(a->out, &al->base);
	else
		fputs("null", a->out);
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, al);
	return UG_OK;
}

static ug_err
body_opens(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
	   uint32_t deliveries)
{
	(void)ctx, (void)id, (void)body, (void)len, (void)deliveries;
	return UG_OK;
}

static ug_err
write_alerts(alert_set *a, size_t *written)
{
	*written = 0;
	for (size_t i = 0; i < a->n; i++) {
		bool open = false;
		char recipient[STORE_ID_MAX] = "";
		uint32_t escalations = 0;
		if (store_alert_state(a->s, a->ids[i], &open, recipient,
				      &escalations) != UG_OK)
			continue;
		/* A body that does not open is a forged alert (STORE-FORGED,
		 * reported): refused as if absent, as hubd does, before any
		 * of it is written — not the end of the export. */
		ug_err err =
		    store_alert_get(a->s, a->ids[i], body_opens, NULL, &open);
		if (err == UG_EMALFORMED)
			continue;
		if (err != UG_OK && err != UG_ENOTFOUND)
			return err;
		char hexid[2 * STORE_ALERT_ID_LEN + 1];
		ug_hex(a->ids[i], STORE_ALERT_ID_LEN, hexid);
		fprintf(a->out,
			"%s\n    {\"id\": \"%s\", \"open\": %s, "
			"\"recipient\": ",
			*written ? "," : "", hexid, open ? "true" : "false");
		json_str(a->out, recipient);
		fprintf(a->out, ", \"escalations\": %u",
			engine_escalation_notices(a->s, a->ids[i]));
		err = store_alert_get(a->s, a->ids[i], write_alert_body, a,
				      &open);
		if (err != UG_OK && err != UG_ENOTFOUND)
			return err;
		fputc('}', a->out);
		(*written)++;
	}
	return UG_OK;
}

typedef struct {
	FILE *out;
	const uint8_t *person_key;
	size_t n;
	uint64_t read; /* the last record read, the person's or not */
} audit_ctx;

/* Ctrl-C, SIGTERM or SIGHUP during an export would end hubctl with part
 * of a person's data in the file beside FILE and the disclosure
 * unrecorded: they end the reading instead, and nothing is written. */
static volatile sig_atomic_t export_signal;

static void
stop_export(int sig)
{
	export_signal = sig;
}

static void
on_export_signals(void (*handler)(int))
{
	struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static ug_err
write_audit(void *ctx, const store_audit_record *r)
{
	audit_ctx *c = ctx;
	if (export_signal)
		return UG_ECLOSED;
	c->read = r->seq;
	if (!r->has_person || sodium_memcmp(r->person_key, c->person_key,
					    UG_PERSON_KEY_LEN) != 0)
		return UG_OK;
	fprintf(c->out, "%s\n    {\"seq\": %llu, \"at\": %lld, \"actor\": ",
		c->n++ ? "," : "", (unsigned long long)r->seq,
		(long long)r->at);
	json_str(c->out, r->actor);
	fputs(", \"key\": ", c->out);
	json_str(c->out, r->key);
	fputs(", \"action\": ", c->out);
	json_str(c->out, r->action);
	fputs(", \"result\": ", c->out);
	json_str(c->out, r->result);
	fputs(", \"detail\": ", c->out);
	json_str(c->out, r->detail);
	fputc('}', c->out);
	return UG_OK;
}

/* --out FILE, or standard output. The document is written to a new
 * file beside FILE (0600, it holds the person's data in the clear) and
 * renamed to FILE only once all of it is written and synced: a failed
 * export leaves no part of a person's data behind and an existing FILE
 * as it was, and a symbolic link at FILE is replaced, never written
 * through. The new file has no name until then (O_TMPFILE), so a
 * hubctl killed (SIGKILL, a power loss) runs no handler and still
 * leaves none of it; a file system without O_TMPFILE gets a named
 * FILE.XXXXXX. For standard output it is kept in memory until it is
 * whole: a document cut short there still closes its brackets, and would
 * pass for the person's whole export. */
typedef struct {
	FILE *f;
	const char *path;
	bool unnamed; /* O_TMPFILE: linked as tmp only once complete */
	char tmp[4096];
	char *mem;
	size_t mem_len;
	const char *refused; /* why FILE was not taken, when no errno says */
} out_file;

static bool
open_out(out_file *o, const char *path, int *why)
{
	o->path = path;
	o->tmp[0] = '\0';
	o->mem = NULL;
	o->mem_len = 0;
	o->refused = NULL;
	if (!path[0]) {
		o->f = open_memstream(&o->mem, &o->mem_len);
		if (!o->f) {
			*why = errno;
			ug_eprintf("hubctl: export failed: %s (nothing "
				   "written)\n",
				   strerror(*why));
			return false;
		}
		return true;
	}
	/* The rename would put the person's data in place of a pipe or a
	 * device (as root, /dev/null itself). */
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode)) {
		o->refused = "it is not a regular file";
		*why = 0;
		ug_eprintf("hubctl: export failed: cannot write %s: %s "
			   "(nothing written)\n",
			   path, o->refused);
		return false;
	}
	int fd = -1;
	o->unnamed = false;
	if ((size_t)snprintf(o->tmp, sizeof o->tmp, "%s.XXXXXX", path) >=
	    sizeof o->tmp) {
		errno = ENAMETOOLONG;
	} else {
		fd = ug_open_unnamed(path);
		o->unnamed = fd >= 0;
		if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
			       errno == EINVAL))
			fd = mkstemp(o->tmp);
	}
	if (fd < 0 || fchmod(fd, 0600) != 0 || !(o->f = fdopen(fd, "w"))) {
		*why = errno;
		/* Worded as every export that writes nothing is, so one
		 * message says it whatever step failed. */
		ug_eprintf("hubctl: export failed: cannot write %s: %s "
			   "(nothing written)\n",
			   path, strerror(*why));
		if (fd >= 0) {
			close(fd);
			if (!o->unnamed)
				unlink(o->tmp);
		}
		return false;
	}
	return true;
}

/* The document flushed and, for a file, synced, but not yet named: true
 * when it is whole and ready to be handed over; else *why is the errno of
 * the write that failed (0 when !complete) and nothing of it is left. A
 * file stays without a name until publish_out, so a hubctl killed while
 * the export is recorded leaves none of it either. */
static bool
ready_out(out_file *o, bool complete, int *why)
{
	*why = 0;
	/* An earlier write's errno is gone by now: only fflush's own says
	 * why, else the stream's error flag says no more than EIO. */
	errno = 0;
	bool flushed = fflush(o->f) == 0;
	bool written = flushed && !ferror(o->f);
	if (!written)
		*why = !flushed && errno ? errno : EIO;
	if (!o->path[0]) {
		fclose(o->f);
		o->f = NULL;
		if (written && complete)
			return true;
		sodium_memzero(o->mem, o->mem_len);
		free(o->mem);
		o->mem = NULL;
		return false;
	}
	if (written && complete && fsync(fileno(o->f)) != 0) {
		*why = errno;
		written = false;
	}
	/* A directory at FILE would refuse the rename: known now, before
	 * the export is recorded as made. */
	struct stat st;
	if (written && complete && lstat(o->path, &st) == 0 &&
	    S_ISDIR(st.st_mode)) {
		*why = EISDIR;
		written = false;
	}
	if (written && complete)
		return true;
	fclose(o->f);
	o->f = NULL;
	if (!o->unnamed)
		unlink(o->tmp);
	return false;
}

/* A ready document that is not to be handed over after all. */
static void
discard_out(out_file *o)
{
	if (!o->path[0]) {
		sodium_memzero(o->mem, o->mem_len);
		free(o->mem);
		o->mem = NULL;
		return;
	}
	fclose(o->f);
	o->f = NULL;
	if (!o->unnamed)
		unlink(o->tmp);
}

/* Hands a ready document over: FILE in place, or standard output
 * written. False, *why the errno, when that failed (nothing at FILE). */
static bool
publish_out(out_file *o, int *why)
{
	bool written;
	errno = 0;
	if (!o->path[0]) {
		written =
		    fwrite(o->mem, 1, o->mem_len, stdout) == o->mem_len &&
		    fflush(stdout) == 0;
		if (!written)
			*why = errno ? errno : EIO;
		discard_out(o);
		return written;
	}
	/* Named only now that it is whole, on disk and recorded. */
	written = !o->unnamed || ug_name_unnamed(fileno(o->f), o->path, o->tmp,
						 sizeof o->tmp);
	if (!written)
		*why = errno;
	bool named = !o->unnamed || written;
	if (fclose(o->f) != 0 && written) {
		*why = errno;
		written = false;
	}
	o->f = NULL;
	if (written && rename(o->tmp, o->path) == 0)
		return true;
	if (written)
		*why = errno;
	if (named)
		unlink(o->tmp);
	return false;
}

/* The export's audit detail: the counts, where to, and why it failed
 * (never the file's name). */
static void
export_detail(char *out, size_t size, const person_scan *p, size_t alerts,
	      size_t audits, const char *path, const char *unread,
	      const char *stop, int werr)
{
	char wrote[96] = "";
	if (werr)
		snprintf(wrote, sizeof wrote, "; %s (%s)",
			 path[0] ? "nothing written" : "output failed",
			 strerror(werr));
	snprintf(out, size,
		 "%zu events (%zu actions), %zu "
		 "alerts, %zu audit records%s%s%s%s",
		 p->n, p->actions, alerts, audits,
		 path[0] ? " to a file" : " to standard output", unread, stop,
		 wrote);
}

int
hubctl_export(const ug_config *cfg, store *s, ug_keys *keys)
{
	person_scan p = {0};
	char norm[11];
	if (!person_key_of(cfg, keys, p.person_key, norm))
		return 2;
	sodium_memzero(norm, sizeof norm);
	const char *path = ug_config_get(cfg, "out");
	/* "-" is standard output, as for most Unix tools: written as a file
	 * named "-" in the working directory, the person's data in the clear
	 * would be left where nobody looks for it. ./- names that file. */
	if (strcmp(path, "-") == 0)
		path = "";
	int why = 0;
	out_file of;
	/* Before the file beside FILE is made: a Ctrl-C from now on takes
	 * it back. */
	on_export_signals(stop_export);
	if (!open_out(&of, path, &why)) {
		/* An attempt to disclose is evidence too, failed or not. */
		char detail[STORE_AUDIT_DETAIL_MAX];
		snprintf(detail, sizeof detail,
			 "nothing written: cannot "
			 "create the file (%s)",
			 of.refused ? of.refused : strerror(why));
		hubctl_audit_admin(s, keys, "export", "failed", p.person_key,
				   detail);
		return 1;
	}
	FILE *out = of.f;
	char hex[2 * UG_PERSON_KEY_LEN + 1];
	ug_hex(p.person_key, UG_PERSON_KEY_LEN, hex);
	alert_set a = {.s = s, .out = out};
	audit_ctx ac = {out, p.person_key, 0, 0};
	size_t alerts = 0;
	p.out = out;
	fprintf(out,
		"{\"person\": \"%s\", \"exported_at\": %lld,\n  "
		"\"events\": [",
		hex, (long long)ug_now_ms());
	ug_err err = scan_person(s, &p);
	if (err == UG_OK)
		err = find_theirs(s, &p);
	/* What it could not read is named in the document itself: a copy
	 * handed over without the message on stderr still says it is not
	 * whole. */
	fputs("\n  ],\n  \"unread\": [", out);
	for (size_t i = 0; i < p.nun; i++)
		fprintf(out, "%s\n    {\"seq\": %llu, \"theirs\": %s}",
			i ? "," : "", (unsigned long long)p.unopened[i],
			p.theirs[i] ? "true" : "false");
	fputs("\n  ],\n  \"alerts\": [", out);
	/* The alerts each record raised, and those in the person's list
	 * (raised from a timer of theirs), each once. */
	for (size_t i = 0; err == UG_OK && i < p.n; i++)
		err = store_alerts_raised(s, p.items[i].seq, add_alert_id, &a);
	if (err == UG_OK)
		err = store_person_alerts(s, p.person_key, add_alert_id, &a);
	if (err == UG_OK)
		err = write_alerts(&a, &alerts);
	fputs("\n  ],\n  \"audit\": [", out);
	/* A record that does not open could be one about the person: an
	 * export without it would hide who saw what, so it fails. */
	char stop[64] = "";
	if (err == UG_OK) {
		err = store_audit_scan(s, 1, write_audit, &ac);
		if (err != UG_OK)
			snprintf(stop, sizeof stop,
				 "; reading the audit trail stopped after "
				 "record %llu",
				 (unsigned long long)ac.read);
	}
	fputs("\n  ]\n}\n", out);
	/* Recording it is not to be cut short by a second Ctrl-C. */
	on_export_signals(SIG_IGN);
	bool interrupted = export_signal != 0;
	if (interrupted) {
		err = UG_ECLOSED;
		snprintf(stop, sizeof stop, "; interrupted");
	}
	int werr = 0;
	bool ready = ready_out(&of, err == UG_OK, &werr);
	char unread[256] = "", theirs[64], other[64];
	unopened_list(&p, true, theirs, sizeof theirs);
	unopened_list(&p, false, other, sizeof other);
	if (p.nun)
		snprintf(unread, sizeof unread,
			 "; %zu log records not read: they do not open "
			 "(theirs: %s; whose unknown: %s)",
			 p.nun, theirs[0] ? theirs : "none",
			 other[0] ? other : "none");
	bool whole = err == UG_OK && ready;
	/* Recorded before it is handed over: a disclosure the trail cannot
	 * take (the store's disk full) is not made. */
	char detail[STORE_AUDIT_DETAIL_MAX];
	export_detail(detail, sizeof detail, &p, alerts, ac.n, path, unread,
		      stop, werr);
	bool recorded = hubctl_audit_admin(s, keys, "export",
					   !whole  ? "failed"
					   : p.nun ? "partial"
						   : "ok",
					   p.person_key, detail) == UG_OK;
	bool written = false;
	if (whole && !recorded)
		discard_out(&of);
	else if (whole && !(written = publish_out(&of, &werr))) {
		/* Why the file is not there, for the record too. */
		char failed[STORE_AUDIT_DETAIL_MAX];
		export_detail(failed, sizeof failed, &p, alerts, ac.n, path,
			      unread, stop, werr);
		hubctl_audit_admin(s, keys, "export", "failed", p.person_key,
				   failed);
	}
	free_scan(&p);
	free(a.ids);
	if (interrupted) {
		ug_eprintf("hubctl: export interrupted (nothing written)\n");
		return 1;
	}
	if (err != UG_OK) {
		ug_eprintf("hubctl: export failed%s: %s%s\n", stop,
			   ug_strerror(err),
			   stop[0] ? " (run hubctl audit verify)" : "");
		return 1;
	}
	if (whole && !recorded) {
		ug_eprintf("hubctl: export failed: it cannot be recorded in "
			   "the audit trail (nothing written)\n");
		return 1;
	}
	if (!written) {
		if (path[0])
			ug_eprintf("hubctl: export failed: cannot write %s: "
				   "%s (nothing written)\n",
				   path, strerror(werr));
		else
			ug_eprintf("hubctl: export failed: cannot write "
				   "standard output: %s\n",
				   strerror(werr));
		return 1;
	}
	if (path[0])
		ug_eprintf("hubctl: exported %s\n", detail);
	if (p.nun) {
		ug_eprintf("hubctl: export incomplete: %zu log records do not "
			   "open with the storage key (STORE-SEAL above); "
			   "their events are not in it, listed under "
			   "\"unread\" (theirs by the person's index: %s; "
			   "whose hubctl cannot tell: %s). Run it again once "
			   "they open (OPERATIONS.md, \"Retention, access "
			   "and erasure\")\n",
			   p.nun, theirs[0] ? theirs : "none",
			   other[0] ? other : "none");
		return 3;
	}
	return 0;
}

/* ---- erase ---- */

/* The erasure's record, built from what it deleted inside its
 * transactions: an erasure is never committed without it. */
typedef struct {
	const ug_config *cfg;
	const uint8_t *person_key;
	const person_scan *p;
	char who[STORE_ID_MAX];
	char detail[STORE_AUDIT_DETAIL_MAX];
	store_audit_entry e;
} erase_record;

static void
erase_detail(erase_record *r, const store_purge_counts *c)
{
	char kept[128] = "", list[64];
	size_t n = r->p->nun - r->p->ntheirs;
	unopened_list(r->p, false, list, sizeof list);
	if (n)
		snprintf(kept, sizeof kept,
			 "; %zu log records that do not open kept (%s)", n,
			 list);
	snprintf(r->detail, sizeof r->detail,
		 "%llu records, %llu alerts, %llu "
		 "rule states, %llu assignments deleted%s; reason: %s",
		 (unsigned long long)c->records, (unsigned long long)c->alerts,
		 (unsigned long long)c->states,
		 (unsigned long long)c->assignments, kept,
		 ug_config_get(r->cfg, "reason"));
}

static ug_err
erase_audit(void *ctx, const store_purge_counts *c,
	    const store_audit_entry **e, size_t *n)
{
	erase_record *r = ctx;
	erase_detail(r, c);
	/* Kept records may be the person's: the trail must not say that
	 * everything went. */
	const char *result = r->p->nun > r->p->ntheirs ? "partial" : "ok";
	r->e =
	    (store_audit_entry){ug_now_ms(), r->who,	    NULL,     "erase",
				result,	     r->person_key, r->detail};
	*e = &r->e;
	*n = 1;
	return UG_OK;
}

int
hubctl_erase(const ug_config *cfg, store *s, ug_keys *keys)
{
	person_scan p = {0};
	char norm[11];
	if (!person_key_of(cfg, keys, p.person_key, norm))
		return 2;
	sodium_memzero(norm, sizeof norm);
	ug_err err = scan_person(s, &p);
	bool dropped = false;
	if (err == UG_OK)
		err =
		    store_derived_drop_other(s, HUB_DERIVED_SCHEMA, &dropped);
	if (dropped)
		ug_eprintf(
		    "hubctl: derived/ was written in another format "
		    "(hubd not started since an upgrade): thrown away "
		    "whole, with the person's index and state in it; "
		    "hubd rebuilds it from the log at its next start\n");
	if (err == UG_OK)
		err = find_theirs(s, &p);
	/* Theirs by their index: deleted unread, with what is keyed by their
	 * sequence; the event-id entry, keyed by what is sealed in them,
	 * cannot be found and stays (it names a record that is gone, so it
	 * counts as absent). */
	for (size_t i = 0; err == UG_OK && i < p.nun; i++) {
		if (!p.theirs[i])
			continue;
		store_purge_item *it = new_item(&p, p.unopened[i]);
		if (!it) {
			err = UG_ENOMEM;
			break;
		}
		it->has_person = true;
		memcpy(it->person_key, p.person_key, UG_PERSON_KEY_LEN);
	}
	store_purge_counts c = {0};
	erase_record r = {.cfg = cfg, .person_key = p.person_key, .p = &p};
	hubctl_audit_operator(r.who);
	if (err == UG_OK)
		err = store_purge_audited(s, p.items, p.n, p.person_key, &c,
					  erase_audit, &r);
	ug_err signed_err = err == UG_OK && keys->sign_secret
				? store_audit_checkpoint(s, r.e.at)
				: UG_OK;
	if (signed_err != UG_OK)
		ug_eprintf("hubctl: the erase record was not signed into a "
			   "checkpoint: %s\n",
			   ug_strerror(signed_err));
	if (err != UG_OK) {
		erase_detail(&r, &c);
		hubctl_audit_admin(s, keys, "erase", "failed", p.person_key,
				   r.detail);
	}
	char theirs[64], other[64];
	unopened_list(&p, true, theirs, sizeof theirs);
	unopened_list(&p, false, other, sizeof other);
	size_t ntheirs = p.ntheirs, nkept = p.nun - p.ntheirs;
	free_scan(&p);
	if (err != UG_OK) {
		ug_eprintf("hubctl: erase failed: %s (nothing or part "
			   "deleted; run it again)\n",
			   ug_strerror(err));
		return 1;
	}
	printf(
	    "erased: %llu records, %llu ids entries, %llu index entries, "
	    "%llu alerts, %llu queue entries, %llu person-alert entries, "
	    "%llu timers, %llu rule states, %llu assignments\n",
	    (unsigned long long)c.records, (unsigned long long)c.ids,
	    (unsigned long long)c.index_entries, (unsigned long long)c.alerts,
	    (unsigned long long)c.queue_entries, (unsigned long long)c.palerts,
	    (unsigned long long)c.timers, (unsigned long long)c.states,
	    (unsigned long long)c.assignments);
	if (ntheirs)
		ug_eprintf("hubctl: erase: %zu log records of the person that "
			   "do not open were deleted unread (%s; their index "
			   "names them as theirs)\n",
			   ntheirs, theirs);
	if (nkept) {
		ug_eprintf("hubctl: erase incomplete: %zu log records that do "
			   "not open with the storage key were kept (%s; "
			   "STORE-SEAL above): hubctl cannot tell whose they "
			   "are. Everything else of the person is erased; run "
			   "it again once they open (OPERATIONS.md, "
			   "\"Retention, access and erasure\")\n",
			   nkept, other);
		return 3;
	}
	return 0;
}

/* ---- pass-damaged ---- */

bool
hubctl_pass_damaged_usage_ok(const ug_config *cfg)
{
	ug_diag diag = {0};
	long seq;
	if (!ug_config_given(cfg, "seq") ||
	    ug_config_int(cfg, "seq", 1, LONG_MAX, &seq, &diag) != UG_OK) {
		ug_eprintf("hubctl: %spass-damaged needs --seq N (the log "
			   "record's sequence, 1-9223372036854775807, as "
			   "STORE-SEAL and hubctl log name it)\n",
			   ug_config_where(cfg, "seq"));
		return false;
	}
	const char *reason = ug_config_get(cfg, "reason");
	if (!reason[0] || blank_only(reason) || strlen(reason) > REASON_MAX ||
	    !ug_utf8_valid(reason, strlen(reason))) {
		ug_eprintf("hubctl: %spass-damaged needs --reason TEXT (1-%d "
			   "bytes of UTF-8, not white space alone): why the "
			   "record is passed over rather than a backup "
			   "restored, kept in the audit trail\n",
			   ug_config_where(cfg, "reason"), REASON_MAX);
		return false;
	}
	return true;
}

int
hubctl_pass_damaged(const ug_config *cfg, store *s, ug_keys *keys)
{
	long seq = 0;
	ug_diag diag = {0};
	(void)ug_config_int(cfg, "seq", 1, LONG_MAX, &seq, &diag);
	char detail[STORE_AUDIT_DETAIL_MAX];
	snprintf(detail, sizeof detail, "log record %ld: %s", seq,
		 ug_config_get(cfg, "reason"));
	hubctl_record r;
	ug_err err = store_log_pass(
	    s, (uint64_t)seq,
	    hubctl_audit_entry(&r, "pass-damaged", "ok", NULL, detail));
	if (err == UG_EEXISTS || err == UG_ENOTFOUND) {
		/* A record that opens is applied and purged as any other:
		 * passing it over would silently drop an event. */
		hubctl_audit_admin(s, keys, "pass-damaged",
				   err == UG_EEXISTS ? "refused" : "not-found",
				   NULL, detail);
		if (err == UG_EEXISTS)
			ug_eprintf(
			    "hubctl: pass-damaged: log record %ld opens "
			    "with the storage key: only a record that "
			    "does not open is passed over; nothing "
			    "changed\n",
			    seq);
		else
			ug_eprintf("hubctl: pass-damaged: the log holds no "
				   "record %ld; nothing changed\n",
				   seq);
		return 1;
	}
	if (err != UG_OK) {
		hubctl_not_stored(s, keys, "pass-damaged", "pass-damaged",
				  detail, err);
		return 1;
	}
	hubctl_audit_signed(s, keys, &r);
	ug_oprintf("passed over log record %ld (it does not open with the "
		   "storage key): hubd's applier, a rebuild of derived/ and "
		   "the retention purge go on past it; it stays in the log, "
		   "unread\n",
		   seq);
	return 0;
}
