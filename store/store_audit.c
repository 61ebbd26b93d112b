/*
 * The audit trail: who read, received, acknowledged, changed or was
 * refused what, as an append-only hash chain an auditor can check without
 * trusting the files. Layouts (log/, synced):
 *   audit       seq BE64 -> version | prev[32] | sealed(at BE64 | actor 0 |
 *               key 0 | action 0 | result 0 | has_person | person_key[16] |
 *               detail), additional data seq | version | prev
 *   audit_ckpt  'h' -> sealed(seq BE64 | hash[32] | ckpt BE64),
 *               additional data "head": the chain's head and the record
 *               number of the last signed checkpoint (0: none yet),
 *               rewritten with every append and every checkpoint; a head
 *               of earlier versions lacks ckpt
 *               'c' | seq BE64 -> version | seq BE64 | hash[32] | at BE64 |
 *               signer public key[32] | Ed25519 signature over
 *               CKPT_CONTEXT | seq | hash | at
 * where prev is the hash of the record before (zeros for record 1) and the
 * hash of a record is BLAKE2b-256(seq BE64 | its stored value).
 *
 * Why each part: prev is bound into the seal, so a record cannot be
 * removed, reordered or swapped without breaking the next one, and cannot
 * be rewritten without the storage key; the sealed head catches a removed
 * tail, and a removed last checkpoint, which is in the clear and would
 * otherwise pass for records not yet signed; the signed checkpoints hold
 * even against someone who has the storage key but not the signing key,
 * up to the last checkpoint.
 * The sequence is read inside the write transaction, never cached: hubctl
 * appends to the same chain from its own process.
 */
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "store/store_int.h"

#define RECORD_VERSION 2
#define CKPT_VERSION   1
#define CKPT_LEN       (1 + 8 + STORE_AUDIT_HASH_LEN + 8 + 32 + 64)
#define CKPT_CONTEXT   "ungebro audit checkpoint v1"
#define HEAD_AD	       "head"
#define PLAIN_MAX                                                             \
	(8 + STORE_ID_MAX + STORE_AUDIT_KEY_MAX + STORE_AUDIT_ACTION_MAX +    \
	 STORE_AUDIT_RESULT_MAX + 1 + UG_PERSON_KEY_LEN +                     \
	 STORE_AUDIT_DETAIL_MAX)
#define PREFIX (1 + STORE_AUDIT_HASH_LEN)

/* A record as queued and as read back: the same fixed-size fields. */
struct store_audit_queue {
	size_t n;
	uint64_t dropped;
	store_audit_record rec[STORE_AUDIT_QUEUE_MAX];
};

static void
copy_field(char *dst, const char *src, size_t size)
{
	ug_strlcpy(dst, src ? src : "", size);
	ug_utf8_trim_tail(dst);
}

/* The trail promises never to hold a CPR, but an actor or a detail can
 * carry what someone typed: a name at the web login, an acknowledgement's
 * note, a filter, a backup's directory. Masked before the cut, so that no
 * CPR straddling the field's end leaves its first digits behind; bytes
 * that are not UTF-8 become '?', or audit show --json and an export
 * would not be UTF-8 (JSON) either. */
static void
copy_masked(char *dst, const char *src, size_t size)
{
	char wide[STORE_AUDIT_DETAIL_MAX + 16];
	ug_strlcpy(wide, src ? src : "", sizeof wide);
	ug_utf8_scrub(wide);
	ug_cpr_mask(wide);
	copy_field(dst, wide, size);
	sodium_memzero(wide, sizeof wide);
}

static void
entry_to_record(const store_audit_entry *e, store_audit_record *r)
{
	memset(r, 0, sizeof *r);
	r->at = e->at;
	copy_masked(r->actor, e->actor, sizeof r->actor);
	copy_field(r->key, e->key, sizeof r->key);
	copy_field(r->action, e->action, sizeof r->action);
	copy_field(r->result, e->result, sizeof r->result);
	copy_masked(r->detail, e->detail, sizeof r->detail);
	r->has_person = e->person_key != NULL;
	if (e->person_key)
		memcpy(r->person_key, e->person_key, UG_PERSON_KEY_LEN);
}

static size_t
put_str(uint8_t *out, const char *s)
{
	size_t len = strlen(s) + 1;
	memcpy(out, s, len);
	return len;
}

static size_t
encode(const store_audit_record *r, uint8_t plain[PLAIN_MAX])
{
	size_t n = 8;
	ug_put_be64(plain, (uint64_t)r->at);
	n += put_str(plain + n, r->actor);
	n += put_str(plain + n, r->key);
	n += put_str(plain + n, r->action);
	n += put_str(plain + n, r->result);
	plain[n++] = r->has_person;
	memcpy(plain + n, r->person_key, UG_PERSON_KEY_LEN);
	n += UG_PERSON_KEY_LEN;
	size_t dl = strlen(r->detail);
	memcpy(plain + n, r->detail, dl);
	return n + dl;
}

/* Read a NUL-terminated field of at most size-1 bytes. */
static bool
get_str(const uint8_t *in, size_t len, size_t *at, char *out, size_t size)
{
	const uint8_t *end = memchr(in + *at, 0, len - *at);
	if (!end || (size_t)(end - (in + *at)) >= size)
		return false;
	size_t n = (size_t)(end - (in + *at)) + 1;
	memcpy(out, in + *at, n);
	*at += n;
	return true;
}

static bool
decode(const uint8_t *plain, size_t len, store_audit_record *r)
{
	memset(r, 0, sizeof *r);
	if (len < 8)
		return false;
	r->at = (int64_t)ug_get_be64(plain);
	size_t at = 8;
	if (!get_str(plain, len, &at, r->actor, sizeof r->actor) ||
	    !get_str(plain, len, &at, r->key, sizeof r->key) ||
	    !get_str(plain, len, &at, r->action, sizeof r->action) ||
	    !get_str(plain, len, &at, r->result, sizeof r->result) ||
	    len - at < 1 + UG_PERSON_KEY_LEN)
		return false;
	r->has_person = plain[at++] != 0;
	memcpy(r->person_key, plain + at, UG_PERSON_KEY_LEN);
	at += UG_PERSON_KEY_LEN;
	if (len - at >= sizeof r->detail)
		return false;
	memcpy(r->detail, plain + at, len - at);
	return true;
}

static void
record_hash(uint64_t seq, const void *value, size_t len,
	    uint8_t out[STORE_AUDIT_HASH_LEN])
{
	uint8_t k[8];
	ug_put_be64(k, seq);
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, STORE_AUDIT_HASH_LEN);
	crypto_generichash_update(&st, k, sizeof k);
	crypto_generichash_update(&st, value, len);
	crypto_generichash_final(&st, out, STORE_AUDIT_HASH_LEN);
}

static void
record_ad(uint64_t seq, const uint8_t *prefix, uint8_t ad[8 + PREFIX])
{
	ug_put_be64(ad, seq);
	memcpy(ad + 8, prefix, PREFIX);
}

/* ---- writing ---- */

/* The chain's last sequence and hash as the store has it in txn. */
static int
chain_tail(store *s, MDB_txn *txn, uint64_t *seq,
	   uint8_t hash[STORE_AUDIT_HASH_LEN])
{
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	*seq = 0;
	memset(hash, 0, STORE_AUDIT_HASH_LEN);
	int rc = mdb_cursor_open(txn, s->audit, &cur);
	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	if (rc == 0 && key.mv_size == 8) {
		*seq = ug_get_be64(key.mv_data);
		record_hash(*seq, val.mv_data, val.mv_size, hash);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
put_record(store *s, MDB_txn *txn, uint64_t seq,
	   uint8_t hash[STORE_AUDIT_HASH_LEN], const store_audit_record *r)
{
	uint8_t plain[PLAIN_MAX];
	size_t n = encode(r, plain);
	uint8_t k[8];
	ug_put_be64(k, seq);
	MDB_val key = {8, k}, val = {PREFIX + n + UG_SEAL_OVERHEAD, NULL};
	int rc = mdb_put(txn, s->audit, &key, &val, MDB_APPEND | MDB_RESERVE);
	if (rc != 0)
		return rc;
	uint8_t *out = val.mv_data, ad[8 + PREFIX];
	out[0] = RECORD_VERSION;
	memcpy(out + 1, hash, STORE_AUDIT_HASH_LEN);
	record_ad(seq, out, ad);
	ug_seal(s->storage_key, ad, sizeof ad, plain, n, out + PREFIX);
	record_hash(seq, out, val.mv_size, hash);
	return 0;
}

#define HEAD_OLD_LEN (8 + STORE_AUDIT_HASH_LEN)
#define HEAD_LEN     (HEAD_OLD_LEN + 8)

static int
put_head(store *s, MDB_txn *txn, uint64_t seq,
	 const uint8_t hash[STORE_AUDIT_HASH_LEN], uint64_t ckpt)
{
	uint8_t plain[HEAD_LEN];
	uint8_t sealed[sizeof plain + UG_SEAL_OVERHEAD];
	ug_put_be64(plain, seq);
	memcpy(plain + 8, hash, STORE_AUDIT_HASH_LEN);
	ug_put_be64(plain + HEAD_OLD_LEN, ckpt);
	ug_seal(s->storage_key, HEAD_AD, strlen(HEAD_AD), plain, sizeof plain,
		sealed);
	MDB_val key = {1, "h"}, val = {sizeof sealed, sealed};
	return mdb_put(txn, s->audit_ckpt, &key, &val, 0);
}

/* The sealed head: false if absent or it does not open. *ckpt is the
 * last checkpoint it names, 0 for a head written before it named one. */
static bool
read_head(store *s, MDB_txn *txn, uint64_t *seq,
	  uint8_t hash[STORE_AUDIT_HASH_LEN], uint64_t *ckpt, bool *present)
{
	MDB_val key = {1, "h"}, val;
	uint8_t plain[HEAD_LEN];
	*ckpt = 0;
	*present = mdb_get(txn, s->audit_ckpt, &key, &val) == 0;
	if (!*present ||
	    (val.mv_size != HEAD_LEN + UG_SEAL_OVERHEAD &&
	     val.mv_size != HEAD_OLD_LEN + UG_SEAL_OVERHEAD) ||
	    ug_seal_open(s->storage_key, HEAD_AD, strlen(HEAD_AD), val.mv_data,
			 val.mv_size, plain) != UG_OK)
		return false;
	*seq = ug_get_be64(plain);
	memcpy(hash, plain + 8, STORE_AUDIT_HASH_LEN);
	if (val.mv_size == HEAD_LEN + UG_SEAL_OVERHEAD)
		*ckpt = ug_get_be64(plain + HEAD_OLD_LEN);
	return true;
}

static void
ckpt_message(uint64_t seq, const uint8_t *hash, int64_t at,
	     uint8_t out[sizeof CKPT_CONTEXT + 8 + STORE_AUDIT_HASH_LEN + 8])
{
	memcpy(out, CKPT_CONTEXT, sizeof CKPT_CONTEXT);
	ug_put_be64(out + sizeof CKPT_CONTEXT, seq);
	memcpy(out + sizeof CKPT_CONTEXT + 8, hash, STORE_AUDIT_HASH_LEN);
	ug_put_be64(out + sizeof CKPT_CONTEXT + 8 + STORE_AUDIT_HASH_LEN,
		    (uint64_t)at);
}

static int
put_checkpoint(store *s, MDB_txn *txn, uint64_t seq,
	       const uint8_t hash[STORE_AUDIT_HASH_LEN], int64_t at)
{
	uint8_t msg[sizeof CKPT_CONTEXT + 8 + STORE_AUDIT_HASH_LEN + 8];
	ckpt_message(seq, hash, at, msg);
	uint8_t v[CKPT_LEN], k[9] = {'c'};
	v[0] = CKPT_VERSION;
	memcpy(v + 1, msg + sizeof CKPT_CONTEXT, 8 + STORE_AUDIT_HASH_LEN + 8);
	/* The public half is the last 32 bytes of libsodium's secret key. */
	memcpy(v + 1 + 8 + STORE_AUDIT_HASH_LEN + 8, s->audit_signer + 32, 32);
	crypto_sign_detached(v + CKPT_LEN - 64, NULL, msg, sizeof msg,
			     s->audit_signer);
	ug_put_be64(k + 1, seq);
	MDB_val key = {sizeof k, k}, val = {sizeof v, v};
	return mdb_put(txn, s->audit_ckpt, &key, &val, 0);
}

/* The checkpoints one write signed, for their witness lines. */
typedef store__audit_pending witnesses;

static int
note_checkpoint(witnesses *w, uint64_t seq,
		const uint8_t hash[STORE_AUDIT_HASH_LEN])
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 4;
		struct store__witness *grown =
		    realloc(w->at, cap * sizeof *grown);
		if (!grown)
			return ENOMEM;
		w->at = grown;
		w->cap = cap;
	}
	w->at[w->n].seq = seq;
	memcpy(w->at[w->n++].hash, hash, STORE_AUDIT_HASH_LEN);
	return 0;
}

/*
 * The log line is a witness outside the store: journald keeps the head
 * even if the store is rolled back whole. So it is written only once the
 * checkpoint is committed, and whatever the process's log level: hubctl
 * logs at warn (its witness lines go to the system log), and hubctl signs
 * most checkpoints.
 */
static void
log_witnesses(const witnesses *w)
{
	for (size_t i = 0; i < w->n; i++) {
		char hex[2 * STORE_AUDIT_HASH_LEN + 1];
		ug_hex(w->at[i].hash, STORE_AUDIT_HASH_LEN, hex);
		ug_log_witness("STORE-AUDIT",
			       "checkpoint signed at record %llu, head %s",
			       (unsigned long long)w->at[i].seq, hex);
	}
}

/* The last checkpoint's sequence in txn, 0 if none. */
static int
last_checkpoint(store *s, MDB_txn *txn, uint64_t *seq)
{
	MDB_cursor *cur = NULL;
	MDB_val key = {1, "d"}, val;
	*seq = 0;
	int rc = mdb_cursor_open(txn, s->audit_ckpt, &cur);
	if (rc != 0)
		return rc;
	/* 'c' keys sort before 'd': the one before "d" is the last 'c'. */
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &key, &val, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	if (rc == 0 && key.mv_size == 9 && ((uint8_t *)key.mv_data)[0] == 'c')
		*seq = ug_get_be64((uint8_t *)key.mv_data + 1);
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* *named: the last checkpoint the head names (0: none) on entry; the
 * last one stored if that is later (a head of earlier versions names
 * none). *missing: the one the
 * head names is not there. It stays named from then on, whatever is
 * signed later: nothing but a hand on the files removes a checkpoint, and
 * signing one again at its record would hide that. */
static int
named_checkpoint(store *s, MDB_txn *txn, uint64_t *named, bool *missing)
{
	*missing = false;
	MDB_val val;
	uint8_t k[9] = {'c'};
	ug_put_be64(k + 1, *named);
	MDB_val key = {sizeof k, k};
	int rc = *named ? mdb_get(txn, s->audit_ckpt, &key, &val) : 0;
	if (rc == MDB_NOTFOUND) {
		*missing = true;
		return 0;
	}
	uint64_t last = 0;
	if (rc == 0)
		rc = last_checkpoint(s, txn, &last);
	if (rc == 0 && last > *named)
		*named = last;
	return rc;
}

#define FOUND_ACTION "audit-changed"

/*
 * Whether the chain as it stands (last record seq, hash) is the one its
 * sealed head recorded; if not, *note is the hub's record of what it
 * found. Appending chains from the last record there is and rewrites the
 * head, so without the note the next append would cover a removed tail,
 * a record appended or replaced, or a head taken away.
 */
static bool
found_changed(store *s, MDB_txn *txn, uint64_t seq,
	      const uint8_t hash[STORE_AUDIT_HASH_LEN], uint64_t *named,
	      int64_t at, store_audit_record *note)
{
	uint64_t head_seq = 0;
	uint8_t head_hash[STORE_AUDIT_HASH_LEN];
	bool present;
	bool head_ok =
	    read_head(s, txn, &head_seq, head_hash, named, &present);
	if (!head_ok)
		*named = 0;
	char detail[160];
	if (!seq && !present)
		return false; /* a new trail */
	if (!present)
		snprintf(detail, sizeof detail,
			 "the chain's recorded head was missing, the last "
			 "record %llu",
			 (unsigned long long)seq);
	else if (!head_ok)
		snprintf(detail, sizeof detail,
			 "the chain's recorded head was altered (does not "
			 "open), the last record %llu",
			 (unsigned long long)seq);
	else if (head_seq != seq)
		snprintf(detail, sizeof detail,
			 "the chain's recorded head was record %llu, the "
			 "last record %llu",
			 (unsigned long long)head_seq,
			 (unsigned long long)seq);
	else if (sodium_memcmp(head_hash, hash, STORE_AUDIT_HASH_LEN) != 0)
		snprintf(detail, sizeof detail,
			 "record %llu does not match the chain's recorded "
			 "head (replaced)",
			 (unsigned long long)seq);
	else
		return false;
	log_err("STORE-AUDIT",
		"the audit trail was changed outside the hub: %s; recorded "
		"as record %llu (hubctl audit verify names it)",
		detail, (unsigned long long)seq + 1);
	store_audit_entry e = {at,	"hub", NULL,  FOUND_ACTION,
			       "found", NULL,  detail};
	entry_to_record(&e, note);
	return true;
}

/*
 * Chain recs[0..n) inside txn, signing a checkpoint at every multiple of
 * the interval, and at the end when `checkpoint` asks for one the last
 * checkpoint does not cover. An LMDB code; the checkpoints signed are
 * added to *signed_at, to be logged once txn is committed.
 */
static int
chain_in(store *s, MDB_txn *txn, const store_audit_record *const *recs,
	 size_t n, bool checkpoint, int64_t at, witnesses *signed_at)
{
	uint64_t seq, covered = 0;
	uint8_t hash[STORE_AUDIT_HASH_LEN];
	int rc = chain_tail(s, txn, &seq, hash);
	uint64_t first = seq + 1, named = 0;
	bool missing = false, changed = false;
	store_audit_record found;
	if (rc == 0)
		changed = found_changed(s, txn, seq, hash, &named, at, &found);
	if (rc == 0)
		rc = named_checkpoint(s, txn, &named, &missing);
	for (size_t i = 0; rc == 0 && i < changed + n; i++) {
		const store_audit_record *r =
		    changed && i == 0 ? &found : recs[i - changed];
		rc = put_record(s, txn, ++seq, hash, r);
		if (rc == 0 && s->audit_signer && seq % s->audit_every == 0 &&
		    !(missing && seq == named)) {
			rc = put_checkpoint(s, txn, seq, hash, r->at);
			if (rc == 0)
				rc = note_checkpoint(signed_at, seq, hash);
			covered = seq;
			if (!missing)
				named = seq;
		}
	}
	bool signed_now = false;
	if (rc == 0 && checkpoint && seq && covered != seq) {
		uint64_t last = 0;
		rc = last_checkpoint(s, txn, &last);
		signed_now =
		    rc == 0 && last != seq && !(missing && seq == named);
		if (signed_now)
			rc = put_checkpoint(s, txn, seq, hash, at);
		if (rc == 0 && signed_now)
			rc = note_checkpoint(signed_at, seq, hash);
		if (signed_now && !missing)
			named = seq;
	}
	if (rc == 0 && (seq >= first || signed_now))
		rc = put_head(s, txn, seq, hash, named);
	return rc;
}

/*
 * Append the queued records and then extra[0..n) in one transaction,
 * signing a checkpoint at every multiple of the interval, and at the end
 * when `checkpoint` asks for one the last checkpoint does not cover.
 */
static ug_err
write_chain(store *s, const store_audit_record *extra, size_t n,
	    bool checkpoint, int64_t at)
{
	struct store_audit_queue *q = s->audit_queue;
	store_audit_record dropped;
	bool note_drops = q && q->dropped;
	if (note_drops) {
		char detail[96];
		snprintf(detail, sizeof detail,
			 "%llu records not kept: the "
			 "audit queue was full",
			 (unsigned long long)q->dropped);
		store_audit_entry e = {at,     "hub", NULL,  "audit-dropped",
				       "lost", NULL,  detail};
		entry_to_record(&e, &dropped);
	}
	size_t queued = q ? q->n : 0;
	if (!queued && !n && !note_drops && !checkpoint)
		return UG_OK;
	size_t total = queued + note_drops + n;
	const store_audit_record **recs =
	    malloc((total ? total : 1) * sizeof *recs);
	if (!recs)
		return UG_ENOMEM;
	for (size_t i = 0; i < queued; i++)
		recs[i] = &q->rec[i];
	if (note_drops)
		recs[queued] = &dropped;
	for (size_t i = 0; i < n; i++)
		recs[queued + note_drops + i] = &extra[i];
	MDB_txn *txn = NULL;
	witnesses signed_at = {0};
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0) {
		free(recs);
		return store__map_err(rc, "begin audit");
	}
	rc = chain_in(s, txn, recs, total, checkpoint, at, &signed_at);
	free(recs);
	if (rc != 0) {
		mdb_txn_abort(txn);
		free(signed_at.at);
		return store__map_err(rc, "append audit");
	}
	ug_err err = store__map_err(mdb_txn_commit(txn), "commit audit");
	if (err == UG_OK)
		log_witnesses(&signed_at);
	free(signed_at.at);
	if (err == UG_OK && q) {
		free(q);
		s->audit_queue = NULL;
	}
	return err;
}

int
store__audit_in(store *s, MDB_txn *txn, const store_audit_entry *e, size_t n,
		store__audit_pending *p)
{
	if (!n)
		return 0;
	store_audit_record *recs = calloc(n, sizeof *recs);
	const store_audit_record **ptrs = calloc(n, sizeof *ptrs);
	int rc = recs && ptrs ? 0 : ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		entry_to_record(&e[i], &recs[i]);
		ptrs[i] = &recs[i];
	}
	if (rc == 0)
		rc = chain_in(s, txn, ptrs, n, false, e[n - 1].at, p);
	free(recs);
	free(ptrs);
	return rc;
}

void
store__audit_done(store__audit_pending *p, bool committed)
{
	if (committed)
		log_witnesses(p);
	free(p->at);
	memset(p, 0, sizeof *p);
}

ug_err
store__commit_audited(store *s, MDB_txn *txn, const store_audit_entry *audit,
		      const char *what)
{
	store__audit_pending signed_at = {0};
	ug_err err = store__map_err(
	    store__audit_in(s, txn, audit, audit ? 1 : 0, &signed_at), what);
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		store__audit_done(&signed_at, false);
		return err;
	}
	err = store__map_err(mdb_txn_commit(txn), what);
	store__audit_done(&signed_at, err == UG_OK);
	return err;
}

ug_err
store_audit_write(store *s, const store_audit_entry *e, size_t n)
{
	store_audit_record one = {0},
			   *recs = n > 1 ? calloc(n, sizeof *recs) : &one;
	if (!recs)
		return UG_ENOMEM;
	for (size_t i = 0; i < n; i++)
		entry_to_record(&e[i], &recs[i]);
	ug_err err = write_chain(s, recs, n, false, n ? e[n - 1].at : 0);
	if (recs != &one)
		free(recs);
	return err;
}

ug_err
store_audit_append(store *s, int64_t at, const char *actor, const char *action,
		   const uint8_t *person_key, const char *detail)
{
	store_audit_entry e = {at,   actor,	 NULL,	action,
			       NULL, person_key, detail};
	return store_audit_write(s, &e, 1);
}

/* A refusal changed and showed nothing, and a client can make them in a
 * loop (frames of another agency, handshakes, acks of no open alert):
 * they may fill the queue only so far, so that a flood of them never
 * costs the record of what was delivered, read or done meanwhile. */
static bool
is_refusal(const char *result)
{
	static const char *const refusals[] = {
	    "refused", "malformed", "rate-limited", "not-open",
	    "denied",  "locked",    "limited"};
	for (size_t i = 0; result && i < sizeof refusals / sizeof *refusals;
	     i++)
		if (strcmp(result, refusals[i]) == 0)
			return true;
	return false;
}

void
store_audit_queue(store *s, const store_audit_entry *e)
{
	if (!s->audit_queue) {
		s->audit_queue = calloc(1, sizeof *s->audit_queue);
		if (!s->audit_queue) {
			log_err("STORE-AUDIT",
				"no memory to queue an audit "
				"record (%s by %s); it is lost",
				e->action, e->actor);
			return;
		}
	}
	struct store_audit_queue *q = s->audit_queue;
	if (q->n >= (is_refusal(e->result) ? STORE_AUDIT_QUEUE_REFUSALS
					   : STORE_AUDIT_QUEUE_MAX)) {
		q->dropped++;
		return;
	}
	entry_to_record(e, &q->rec[q->n++]);
}

ug_err
store_audit_flush(store *s)
{
	if (!s->audit_queue)
		return UG_OK;
	return write_chain(s, NULL, 0, false, ug_now_ms());
}

void
store_audit_signer(store *s, const uint8_t *sign_secret, uint64_t every)
{
	s->audit_signer = sign_secret;
	s->audit_every = every ? every : STORE_AUDIT_CHECKPOINT_EVERY;
}

ug_err
store_audit_checkpoint(store *s, int64_t at)
{
	if (!s->audit_signer)
		return UG_EINVAL;
	return write_chain(s, NULL, 0, true, at);
}

ug_err
store_audit_count(store *s, uint64_t *n)
{
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_stat st;
	*n = mdb_stat(txn, s->audit, &st) == 0 ? st.ms_entries : 0;
	mdb_txn_abort(txn);
	return UG_OK;
}

/* ---- reading and checking ---- */

static bool
open_record(store *s, uint64_t seq, const MDB_val *val, store_audit_record *r)
{
	const uint8_t *in = val->mv_data;
	if (val->mv_size < PREFIX + UG_SEAL_OVERHEAD + 8 ||
	    val->mv_size > PREFIX + UG_SEAL_OVERHEAD + PLAIN_MAX ||
	    in[0] != RECORD_VERSION)
		return false;
	uint8_t ad[8 + PREFIX], plain[PLAIN_MAX];
	record_ad(seq, in, ad);
	size_t len = val->mv_size - PREFIX - UG_SEAL_OVERHEAD;
	if (ug_seal_open(s->storage_key, ad, sizeof ad, in + PREFIX,
			 val->mv_size - PREFIX, plain) != UG_OK ||
	    !decode(plain, len, r))
		return false;
	r->seq = seq;
	return true;
}

ug_err
store_audit_scan(store *s, uint64_t from, store_audit_fn fn, void *ctx)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc == 0)
		rc = mdb_cursor_open(txn, s->audit, &cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return store__map_err(rc, "read audit");
	}
	uint8_t k[8];
	ug_put_be64(k, from);
	MDB_val key = {8, k}, val;
	ug_err err = UG_OK;
	store_audit_record *r = malloc(sizeof *r);
	if (!r)
		err = UG_ENOMEM;
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (err == UG_OK && rc == 0) {
		if (key.mv_size != 8 ||
		    !open_record(s, ug_get_be64(key.mv_data), &val, r)) {
			err = UG_EMALFORMED;
			break;
		}
		err = fn(ctx, r);
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	if (err == UG_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = store__map_err(rc, "read audit");
	free(r);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

/* Note a problem at seq; the report keeps the first in sequence order. */
static void problem(store_audit_report *out, uint64_t seq, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));

static void
problem(store_audit_report *out, uint64_t seq, const char *fmt, ...)
{
	out->problems++;
	/* There is no record 0, and broken_seq 0 means intact: a checkpoint
	 * keyed at record 0, or whose key holds no record number, is named
	 * at record 1 rather than lost. */
	if (seq == 0)
		seq = 1;
	if (out->broken_seq && out->broken_seq <= seq)
		return;
	out->broken_seq = seq;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->problem, sizeof out->problem, fmt, ap);
	va_end(ap);
}

typedef struct {
	uint64_t seq;
	uint8_t hash[STORE_AUDIT_HASH_LEN];
	bool signed_ok, bad_form;
} checkpoint;

/* Read and check every checkpoint's signature; *out is malloc'ed. */
static int
read_checkpoints(store *s, MDB_txn *txn, const uint8_t *sign_public,
		 checkpoint **out, size_t *n, store_audit_report *rep)
{
	MDB_cursor *cur = NULL;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	int rc = mdb_cursor_open(txn, s->audit_ckpt, &cur);
	MDB_val key = {1, "c"}, val;
	if (rc == 0)
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (rc == 0 && key.mv_size >= 1 &&
	       ((uint8_t *)key.mv_data)[0] == 'c') {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			checkpoint *grown = realloc(*out, cap * sizeof **out);
			if (!grown) {
				rc = ENOMEM;
				break;
			}
			*out = grown;
		}
		checkpoint *c = &(*out)[(*n)++];
		memset(c, 0, sizeof *c);
		const uint8_t *v = val.mv_data;
		c->seq = key.mv_size == 9
			     ? ug_get_be64((uint8_t *)key.mv_data + 1)
			     : 0;
		c->bad_form = key.mv_size != 9 || val.mv_size != CKPT_LEN ||
			      v[0] != CKPT_VERSION ||
			      ug_get_be64(v + 1) != c->seq;
		if (!c->bad_form) {
			uint8_t msg[sizeof CKPT_CONTEXT + 8 +
				    STORE_AUDIT_HASH_LEN + 8];
			memcpy(c->hash, v + 9, STORE_AUDIT_HASH_LEN);
			ckpt_message(
			    c->seq, c->hash,
			    (int64_t)ug_get_be64(v + 9 + STORE_AUDIT_HASH_LEN),
			    msg);
			c->signed_ok = crypto_sign_verify_detached(
					   v + CKPT_LEN - 64, msg, sizeof msg,
					   sign_public) == 0;
		}
		rep->checkpoints++;
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* True when c is a good signature over exactly this record's hash: the
 * trail up to it is the one signed. */
static bool
check_checkpoint(const checkpoint *c, uint64_t seq, const uint8_t *hash,
		 store_audit_report *out)
{
	if (c->bad_form)
		problem(out, c->seq, "checkpoint at record %llu is malformed",
			(unsigned long long)c->seq);
	else if (!c->signed_ok)
		problem(out, c->seq,
			"checkpoint at record %llu: bad signature "
			"(not made with this hub's signing key, or altered)",
			(unsigned long long)c->seq);
	else if (seq == c->seq &&
		 sodium_memcmp(c->hash, hash, STORE_AUDIT_HASH_LEN) != 0)
		problem(out, c->seq,
			"record %llu: hash mismatch with its "
			"signed checkpoint (the trail up to it was rewritten)",
			(unsigned long long)c->seq);
	else
		return seq != 0 && seq == c->seq;
	return false;
}

/* Whether the record seq, v (n bytes) hashes to want. */
static bool
same_hash(uint64_t seq, const uint8_t *v, size_t n,
	  const uint8_t want[STORE_AUDIT_HASH_LEN])
{
	uint8_t h[STORE_AUDIT_HASH_LEN];
	record_hash(seq, v, n, h);
	return sodium_memcmp(h, want, STORE_AUDIT_HASH_LEN) == 0;
}

ug_err
store_audit_verify(store *s, const uint8_t *sign_public,
		   store_audit_report *out)
{
	memset(out, 0, sizeof *out);
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	checkpoint *cps = NULL;
	size_t ncp = 0, ci = 0;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc == 0)
		rc = read_checkpoints(s, txn, sign_public, &cps, &ncp, out);
	if (rc == 0)
		rc = mdb_cursor_open(txn, s->audit, &cur);
	if (rc != 0) {
		free(cps);
		mdb_txn_abort(txn);
		return store__map_err(rc, "verify audit");
	}
	store_audit_record *r = malloc(sizeof *r);
	uint8_t hash[STORE_AUDIT_HASH_LEN] = {0};
	uint64_t expect = 1;
	/* The last record a good signature vouches for, so that a mismatch
	 * right after it names the record itself, not the one before. */
	uint64_t vouched = 0;
	/* The head holds its record's hash: a record at the head that
	 * hashes otherwise is not the one recorded there. */
	uint64_t head_seq = 0, head_ckpt = 0;
	uint8_t head_hash[STORE_AUDIT_HASH_LEN];
	bool present = false;
	bool head_ok =
	    read_head(s, txn, &head_seq, head_hash, &head_ckpt, &present);
	MDB_val key, val;
	if (!r)
		rc = ENOMEM;
	else
		rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	for (; rc == 0; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		uint64_t seq = key.mv_size == 8 ? ug_get_be64(key.mv_data) : 0;
		if (seq < expect) {
			problem(out, expect,
				"a record with a malformed "
				"sequence sits before record %llu",
				(unsigned long long)expect);
			continue;
		}
		if (seq > expect)
			problem(out, expect,
				"record %llu missing (gap: the "
				"next record is %llu)",
				(unsigned long long)expect,
				(unsigned long long)seq);
		const uint8_t *v = val.mv_data;
		if (!open_record(s, seq, &val, r))
			problem(out, seq,
				"record %llu altered: it does not "
				"open with the storage key",
				(unsigned long long)seq);
		else if (seq == expect && vouched && vouched + 1 == seq &&
			 sodium_memcmp(v + 1, hash, STORE_AUDIT_HASH_LEN) != 0)
			problem(out, seq,
				"record %llu: hash mismatch (record %llu "
				"itself was replaced: the record before it is "
				"signed and intact)",
				(unsigned long long)seq,
				(unsigned long long)seq);
		else if (seq == expect && head_ok && head_seq == seq &&
			 sodium_memcmp(v + 1, hash, STORE_AUDIT_HASH_LEN) !=
			     0 &&
			 !same_hash(seq, v, val.mv_size, head_hash))
			problem(
			    out, seq,
			    "record %llu: hash mismatch (record %llu "
			    "itself was replaced: it is not the record the "
			    "recorded head holds)",
			    (unsigned long long)seq, (unsigned long long)seq);
		else if (seq == expect &&
			 sodium_memcmp(v + 1, hash, STORE_AUDIT_HASH_LEN) != 0)
			problem(out, seq,
				"record %llu: hash mismatch (the "
				"record before it was changed or replaced)",
				(unsigned long long)seq);
		else if (strcmp(r->action, FOUND_ACTION) == 0 &&
			 strcmp(r->actor, "hub") == 0)
			problem(out, seq,
				"record %llu: the trail was changed outside "
				"the hub before it: %s",
				(unsigned long long)seq, r->detail);
		record_hash(seq, v, val.mv_size, hash);
		for (; ci < ncp && cps[ci].seq <= seq; ci++)
			if (check_checkpoint(&cps[ci], seq, hash, out))
				vouched = seq;
		out->records++;
		expect = seq + 1;
	}
	uint64_t last = expect - 1;
	for (; ci < ncp; ci++) {
		check_checkpoint(&cps[ci], 0, NULL, out);
		if (cps[ci].signed_ok && cps[ci].seq > last)
			problem(out, last + 1,
				"tail truncated: the signed "
				"checkpoint covers %llu records, only %llu "
				"exist",
				(unsigned long long)cps[ci].seq,
				(unsigned long long)last);
	}
	if (ncp) {
		out->last_checkpoint = cps[ncp - 1].seq;
		memcpy(out->last_checkpoint_hash, cps[ncp - 1].hash,
		       STORE_AUDIT_HASH_LEN);
	}
	out->head = head_seq;
	bool named_found = false;
	for (size_t i = 0; i < ncp; i++)
		named_found = named_found || cps[i].seq == head_ckpt;
	if (head_ok && head_ckpt && !named_found)
		problem(out, head_ckpt,
			"checkpoint at record %llu missing (the recorded "
			"head names it as the last one signed)",
			(unsigned long long)head_ckpt);
	if (!present && last)
		problem(out, last, "the chain's recorded head is missing");
	else if (present && !head_ok)
		problem(out, last ? last : 1,
			"the chain's recorded head is "
			"altered (does not open)");
	else if (head_ok && head_seq > last)
		problem(out, last + 1,
			"tail truncated: the recorded head is "
			"record %llu, the last record is %llu",
			(unsigned long long)head_seq,
			(unsigned long long)last);
	else if (head_ok && head_seq < last)
		problem(out, head_seq + 1,
			"records after the recorded head "
			"(%llu): appended outside the hub",
			(unsigned long long)head_seq);
	else if (head_ok &&
		 sodium_memcmp(head_hash, hash, STORE_AUDIT_HASH_LEN) != 0)
		problem(out, last,
			"record %llu: hash mismatch with the "
			"recorded head",
			(unsigned long long)last);
	ug_err err = rc == 0 || rc == MDB_NOTFOUND
			 ? (r ? UG_OK : UG_ENOMEM)
			 : store__map_err(rc, "verify audit");
	free(r);
	free(cps);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}
