/*
 * Operational alerts: conditions of the hub itself that an operator must
 * see, each raised once when it starts and cleared when it ends (not one
 * per event or per check). Raising logs HUB-OPS-<CONDITION>, sets
 * ungebro_ops_condition and queues an alert (rule ops.<condition>) to
 * every caseworker registered with --ops; clearing logs HUB-OPS-CLEARED.
 * The alerts name agencies, recipients and store parts, never a person.
 *
 * Their ids cannot meet a rule's: a rule alert's id is the raising log
 * sequence and a rule byte below 0x40, and no log reaches sequence
 * 0xFF00000000000000. An ops alert's id is 0xFF, the wall-clock second
 * (big-endian, 4 bytes), a raise counter (2 bytes), the ops caseworker's
 * index (1 byte) and 0x30 + the condition.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/keys.h"
#include "common/log.h"
#include "common/util.h"
#include "hub/metrics.h"
#include "store/store_password.h"

enum {
	OPS_ADAPTER_SILENT,
	OPS_QUEUE_STALLED,
	OPS_MAP_FULL,
	OPS_DESK_UNCOVERED,
	OPS_AUDIT_BROKEN,
	OPS_LOG_DAMAGED,
	OPS_COUNT
};

static const struct {
	const char *name, *msgid, *rule;
} conds[OPS_COUNT] = {
    {"adapter_silent", "HUB-OPS-ADAPTER-SILENT", "ops.adapter_silent"},
    {"queue_stalled", "HUB-OPS-QUEUE-STALLED", "ops.queue_stalled"},
    {"map_full", "HUB-OPS-MAP-FULL", "ops.map_full"},
    {"desk_uncovered", "HUB-OPS-DESK-UNCOVERED", "ops.desk_uncovered"},
    {"audit_broken", "HUB-OPS-AUDIT-BROKEN", "ops.audit_broken"},
    {"log_damaged", "HUB-OPS-LOG-DAMAGED", "ops.log_damaged"},
};

#define OPS_RULE_BASE	0x30
#define OPS_SILENCE_MAX 32
#define OPS_TRACKED_MAX 4096
/* Room for every subject a condition can hold for (the agencies watched,
 * every queue counted, the desk's queue under its old name and its new
 * one for the moment after a reload renames it, three store parts, the
 * desk, the audit trail, the log): a condition finding the table full
 * would be neither logged nor alerted, so the room is counted with a
 * margin rather than to the slot. */
#define OPS_ACTIVE_MAX	   (OPS_SILENCE_MAX + OPS_TRACKED_MAX + 16)
#define OPS_CHECK_MS	   1000
#define OPS_QUEUES_MS	   60000
#define OPS_RECIPIENTS_MAX 256 /* ops caseworkers an alert goes to */

typedef struct {
	char agency[STORE_ID_MAX];
	int64_t ms;
	int64_t last; /* hub clock of its last accepted event, 0 none yet */
} silence;

typedef struct {
	int cond;
	char subject[STORE_ID_MAX];
	bool seen;   /* still true at the end of this check */
	bool unsent; /* raised while the ops people could not be listed */
} active;

typedef struct {
	char id[STORE_ID_MAX];
	size_t open;
	int64_t since; /* hub clock when its count last went down */
} tracked;

struct hub_ops {
	silence silences[OPS_SILENCE_MAX];
	size_t nsilences;
	long queue_open, queue_hours, map_percent, audit_hours;
	int64_t started; /* hub clock when hubd became ready */
	int64_t next_check;
	int64_t audit_at; /* hub clock of the last verification */
	bool audited;
	int64_t next_queues, queues_at; /* monotonic; hub clock */
	uint64_t queues_unqueued;	/* store_alerts_unqueued then */
	bool audit_broken;
	bool audit_unread; /* the last verification could not read it */
	bool desk_due;	   /* a deadline alert to a desk not read yet */
	char audit_problem[400];
	active *active; /* OPS_ACTIVE_MAX */
	size_t nactive;
	tracked *tracked;
	size_t ntracked;
	uint16_t raises;
};

static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

static ug_err
parse_silence(const char *list, struct hub_ops *o, ug_diag *diag)
{
	const char *p = list;
	size_t n = 0;
	silence seen[OPS_SILENCE_MAX];
	/* An empty item anywhere, the last one included ("a=2,"), is
	 * refused alike: a comma with nothing after it is a list cut short. */
	bool more = *p != '\0';
	while (more) {
		size_t len = strcspn(p, ",");
		/* Blanks (spaces, tabs) around an item and its '=' are
		 * layout, as in the rules file ("school-a=3, college-a=48",
		 * or a tab after the comma as an editor puts it). */
		const char *item = p, *end = p + len;
		while (item < end && blank(*item))
			item++;
		while (end > item && blank(end[-1]))
			end--;
		const char *eq = memchr(item, '=', (size_t)(end - item));
		const char *name_end = eq, *num = eq ? eq + 1 : NULL;
		while (name_end && name_end > item && blank(name_end[-1]))
			name_end--;
		while (num && num < end && blank(*num))
			num++;
		long hours = 0;
		if (!eq || name_end == item ||
		    ug_parse_long(num, (size_t)(end - num), &hours) != UG_OK ||
		    hours < 1 || hours > 24 * 366 || n == OPS_SILENCE_MAX) {
			ug_diag_set(
			    diag, "ops_silence",
			    "ops_silence must be "
			    "agency=HOURS[,agency=HOURS]... (1 to 8784 "
			    "hours, at most %d agencies): '%.*s'",
			    OPS_SILENCE_MAX, (int)len, p);
			return UG_EINVAL;
		}
		/* Registered ids only: the name goes into metric labels. The
		 * words are those of every program's refusal of an id. */
		silence one = {.ms = hours * 3600000LL};
		size_t id_len = (size_t)(name_end - item);
		if (id_len < STORE_ID_MAX) {
			memcpy(one.agency, item, id_len);
			one.agency[id_len] = '\0';
		}
		if (id_len >= STORE_ID_MAX || !ug_id_valid(one.agency)) {
			char *typed = strndup(item, id_len);
			char shown[UG_ID_SHOWN_MAX];
			ug_diag_set(
			    diag, "ops_silence",
			    "ops_silence: '%s' is not a valid "
			    "id " UG_ID_RULE,
			    typed ? ug_id_shown(typed, shown, sizeof shown)
				  : "?");
			free(typed);
			return UG_EINVAL;
		}
		/* Two hours for one agency: which was meant is not ours to
		 * guess. */
		for (size_t i = 0; i < n; i++)
			if (strcmp(seen[i].agency, one.agency) == 0) {
				ug_diag_set(diag, "ops_silence",
					    "ops_silence "
					    "names agency '%s' twice",
					    one.agency);
				return UG_EINVAL;
			}
		seen[n] = one;
		if (o)
			o->silences[n] = one;
		n++;
		more = p[len] == ',';
		p += len + more;
	}
	if (o)
		o->nsilences = n;
	return UG_OK;
}

static ug_err
load(struct hub_ops *o, const ug_config *cfg, ug_diag *diag)
{
	ug_err err = parse_silence(ug_config_get(cfg, "ops_silence"), o, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "ops_queue_open", 1, 1000000,
				    &o->queue_open, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "ops_queue_hours", 1, 24 * 366,
				    &o->queue_hours, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "ops_map_percent", 1, 100,
				    &o->map_percent, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "ops_audit_hours", 0, 24 * 366,
				    &o->audit_hours, diag);
	return err;
}

ug_err
hub__ops_check(const ug_config *cfg, ug_diag *diag)
{
	struct hub_ops o;
	return load(&o, cfg, diag);
}

ug_err
hub__ops_open(hub *h, const ug_config *cfg, ug_diag *diag)
{
	h->ops = calloc(1, sizeof *h->ops);
	if (!h->ops)
		return UG_ENOMEM;
	h->ops->tracked = calloc(OPS_TRACKED_MAX, sizeof *h->ops->tracked);
	h->ops->active = calloc(OPS_ACTIVE_MAX, sizeof *h->ops->active);
	if (!h->ops->tracked || !h->ops->active)
		return UG_ENOMEM;
	return load(h->ops, cfg, diag);
}

void
hub__ops_close(hub *h)
{
	if (!h->ops)
		return;
	free(h->ops->tracked);
	free(h->ops->active);
	free(h->ops);
	h->ops = NULL;
}

/* ---- raising ---- */

typedef struct {
	char ids[OPS_RECIPIENTS_MAX][STORE_ID_MAX];
	size_t n;
} ops_people;

static ug_err
add_ops(void *ctx, const char *id, uint32_t flags)
{
	ops_people *p = ctx;
	if ((flags & STORE_FLAG_OPS) && p->n < OPS_RECIPIENTS_MAX)
		ug_strlcpy(p->ids[p->n++], id, STORE_ID_MAX);
	return UG_OK;
}

/* One ops alert for one recipient; *created false when the id was taken. */
static ug_err
put_alert(hub *h, int cond, const char *recipient, uint32_t second,
	  uint16_t raise, uint8_t index, const char *title,
	  const char *explanation, bool *created)
{
	uint8_t id[STORE_ALERT_ID_LEN] = {0xFF};
	ug_put_be32(id + 1, second);
	id[5] = (uint8_t)(raise >> 8);
	id[6] = (uint8_t)raise;
	id[7] = index;
	id[8] = (uint8_t)(OPS_RULE_BASE + cond);
	wire_alert a = UNGEBRO__V1__ALERT__INIT;
	a.alert_id.data = id;
	a.alert_id.len = sizeof id;
	a.rule = (char *)conds[cond].rule;
	a.priority = UNGEBRO__V1__PRIORITY__HIGH;
	a.cpr = "";
	a.recipient = (char *)recipient;
	a.raised_at = h->now;
	a.title = (char *)title;
	a.explanation = (char *)explanation;
	a.due = "";
	size_t len = wire_packed_size(&a);
	uint8_t *body = malloc(len ? len : 1);
	if (!body)
		return UG_ENOMEM;
	wire_pack(&a, body);
	store_alert sa = {
	    .recipient = recipient, .body = body, .body_len = len};
	memcpy(sa.id, id, sizeof id);
	ug_err err = store_alerts_put(h->store, &sa, 1);
	free(body);
	if (err != UG_OK)
		log_err(conds[cond].msgid, "ops alert to %s not stored: %s",
			recipient, ug_strerror(err));
	*created = err == UG_OK && sa.created;
	return err;
}

/* False when the ops people could not be listed (or no memory was had
 * for them): the alert went to none of them and is to be sent again.
 * again: a retry, whose failure was said when it was raised. */
static bool
send_alerts(hub *h, int cond, const char *title, const char *explanation,
	    bool again)
{
	ops_people *people = calloc(1, sizeof *people);
	if (!people)
		return false;
	bool listed = store_principal_list(h->store, STORE_CASEWORKER, add_ops,
					   people) == UG_OK;
	if (!listed) {
		/* Said once: asked again at every check, it would be a line
		 * a second for as long as the store cannot be read. */
		if (!again)
			log_err(conds[cond].msgid,
				"cannot list the ops caseworkers: the alert "
				"is sent once they can be listed");
		free(people);
		return false;
	}
	uint32_t second = (uint32_t)(ug_now_ms() / 1000);
	uint16_t raise = h->ops->raises++;
	for (size_t i = 0; i < people->n; i++) {
		/* The raise counter starts again at every start, so a hubd
		 * restarted within the second of an earlier raise computes
		 * that alert's id, and the store would keep the old alert
		 * instead of raising anew: an id it already holds takes the
		 * next number. */
		bool created = false;
		for (unsigned tries = 0;; tries++) {
			ug_err err = put_alert(h, cond, people->ids[i], second,
					       raise, (uint8_t)i, title,
					       explanation, &created);
			if (err != UG_OK || created || tries == UINT16_MAX)
				break;
			raise = h->ops->raises++;
		}
		if (created) {
			hub__delivery_notify(h, people->ids[i]);
			hub__notify_alerted(h, people->ids[i]);
		}
	}
	free(people);
	return true;
}

static active *
find_active(struct hub_ops *o, int cond, const char *subject)
{
	for (size_t i = 0; i < o->nactive; i++)
		if (o->active[i].cond == cond &&
		    strcmp(o->active[i].subject, subject) == 0)
			return &o->active[i];
	return NULL;
}

/* The condition holds for subject now: raise it unless it is raised. */
static void
holds(hub *h, int cond, const char *subject, const char *title,
      const char *explanation)
{
	struct hub_ops *o = h->ops;
	active *a = find_active(o, cond, subject);
	if (a) {
		a->seen = true;
		/* Raised while the ops people could not be listed: an alert
		 * they never get would leave the log line all there is. */
		if (a->unsent)
			a->unsent =
			    !send_alerts(h, cond, title, explanation, true);
		return;
	}
	if (o->nactive == OPS_ACTIVE_MAX)
		return;
	a = &o->active[o->nactive++];
	a->cond = cond;
	ug_strlcpy(a->subject, subject, sizeof a->subject);
	a->seen = true;
	log_warn(conds[cond].msgid, "%s (%s): %s", conds[cond].name, subject,
		 explanation);
	a->unsent = !send_alerts(h, cond, title, explanation, false);
}

/* Clear the instances of cond not seen since the last mark. */
static void
sweep(hub *h, int cond)
{
	struct hub_ops *o = h->ops;
	for (size_t i = 0; i < o->nactive;) {
		active *a = &o->active[i];
		if (a->cond != cond || a->seen) {
			i++;
			continue;
		}
		log_notice("HUB-OPS-CLEARED", "%s (%s) no longer holds",
			   conds[cond].name, a->subject);
		o->active[i] = o->active[--o->nactive];
	}
}

static void
mark(struct hub_ops *o, int cond)
{
	for (size_t i = 0; i < o->nactive; i++)
		if (o->active[i].cond == cond)
			o->active[i].seen = false;
}

/* Kept here, not taken from the metrics' per-agency series: those stop
 * at the first agencies seen, and a watched agency after them would be
 * taken for silent while it sends. */
void
hub__ops_accepted(hub *h, const char *agency)
{
	struct hub_ops *o = h->ops;
	for (size_t i = 0; o && i < o->nsilences; i++)
		if (strcmp(o->silences[i].agency, agency) == 0)
			o->silences[i].last = h->now;
}

/* ---- the conditions ---- */

static void
check_silence(hub *h)
{
	struct hub_ops *o = h->ops;
	mark(o, OPS_ADAPTER_SILENT);
	for (size_t i = 0; i < o->nsilences; i++) {
		const silence *s = &o->silences[i];
		int64_t last = s->last > o->started ? s->last : o->started;
		if (h->now - last <= s->ms)
			continue;
		long long silent_hours = (h->now - last) / 3600000;
		long long every_hours = s->ms / 3600000;
		char title[160], why[400];
		snprintf(title, sizeof title,
			 "Operations: agency %s is silent", s->agency);
		snprintf(why, sizeof why,
			 "no event from %s accepted for %lld "
			 "hour%s (expected at least every %lld hour%s; "
			 "ops_silence)",
			 s->agency, silent_hours, silent_hours == 1 ? "" : "s",
			 every_hours, every_hours == 1 ? "" : "s");
		holds(h, OPS_ADAPTER_SILENT, s->agency, title, why);
	}
	sweep(h, OPS_ADAPTER_SILENT);
}

static tracked *
track(struct hub_ops *o, const char *id, int64_t now)
{
	for (size_t i = 0; i < o->ntracked; i++)
		if (strcmp(o->tracked[i].id, id) == 0)
			return &o->tracked[i];
	if (o->ntracked == OPS_TRACKED_MAX)
		return NULL;
	tracked *t = &o->tracked[o->ntracked++];
	ug_strlcpy(t->id, id, sizeof t->id);
	t->open = 0;
	t->since = now;
	return t;
}

/* False when the queue could not be counted: that tells nothing about
 * it, so the check that asked must not end its condition either. */
static bool
queue_one(hub *h, const char *id)
{
	struct hub_ops *o = h->ops;
	size_t open;
	/* A queue first counted now has not gone down since hubd started,
	 * for all it knows: the first count may come after the hub clock
	 * moved on (OPERATIONS.md: "from hubd's start at the earliest"). */
	tracked *t = track(o, id, o->started);
	if (!t)
		return true;
	if (store_alerts_count(h->store, id, &open) != UG_OK)
		return false;
	if (open < t->open || open == 0)
		t->since = h->now;
	t->open = open;
	if (open <= (size_t)o->queue_open ||
	    h->now - t->since < o->queue_hours * 3600000LL)
		return true;
	char title[160], why[400];
	snprintf(title, sizeof title,
		 "Operations: %s's queue is not being "
		 "worked",
		 id);
	snprintf(why, sizeof why,
		 "%zu open alert%s for %s (more than %ld) "
		 "and none acknowledged for %ld hour%s or more "
		 "(ops_queue_open, ops_queue_hours)",
		 open, open == 1 ? "" : "s", id, o->queue_open, o->queue_hours,
		 o->queue_hours == 1 ? "" : "s");
	holds(h, OPS_QUEUE_STALLED, id, title, why);
	return true;
}

typedef struct {
	hub *h;
	bool unread;
} queue_check;

static ug_err
queue_cb(void *ctx, const char *id, uint32_t flags)
{
	(void)flags;
	queue_check *q = ctx;
	if (!queue_one(q->h, id))
		q->unread = true;
	return UG_OK;
}

static void
check_queues(hub *h)
{
	mark(h->ops, OPS_QUEUE_STALLED);
	/* The desk first: with more caseworkers than are counted, its queue
	 * is still watched. */
	queue_check q = {h, !queue_one(h, h->rules.desk)};
	if (store_principal_list(h->store, STORE_CASEWORKER, queue_cb, &q) !=
	    UG_OK)
		q.unread = true;
	/* A queue not counted (the store unreadable for a moment) is not a
	 * queue worked: what held goes on holding until a count says. */
	if (!q.unread)
		sweep(h, OPS_QUEUE_STALLED);
}

/* Whole MiB said "0 of 1 MiB" for a small map that was 80 % full: a
 * tenth of a MiB, or KiB below one MiB, keeps the figure readable. */
static void
bytes_text(uint64_t bytes, char *out, size_t size)
{
	if (bytes < 1u << 20)
		snprintf(out, size, "%llu KiB",
			 (unsigned long long)((bytes + 512) >> 10));
	else
		snprintf(out, size, "%.1f MiB", (double)bytes / (1u << 20));
}

static void
map_one(hub *h, const char *env, const char *setting, uint64_t used,
	uint64_t size, bool refused)
{
	if (!size ||
	    (!refused && used * 100 <= size * (uint64_t)h->ops->map_percent))
		return;
	char title[160], why[400], used_text[32], size_text[32];
	/* Rounded up: over 80 % is never said as "80 % (over 80 %)". */
	unsigned long long percent = (used * 100 + size - 1) / size;
	bytes_text(used, used_text, sizeof used_text);
	bytes_text(size, size_text, sizeof size_text);
	if (refused) {
		snprintf(title, sizeof title,
			 "Operations: the %s store is full", env);
		snprintf(why, sizeof why,
			 "%s refused a write: its map is full (it uses %s of "
			 "%s, %llu %%, and the write did not fit); raise %s "
			 "and restart hubd",
			 env, used_text, size_text, percent, setting);
	} else {
		snprintf(title, sizeof title,
			 "Operations: the %s store is %llu %% full", env,
			 percent);
		snprintf(why, sizeof why,
			 "%s uses %s of %s, %llu %% (over %ld %%; raise %s "
			 "and restart hubd before it fills)",
			 env, used_text, size_text, percent,
			 h->ops->map_percent, setting);
	}
	holds(h, OPS_MAP_FULL, env, title, why);
}

static void
check_map(hub *h)
{
	store_stats st;
	if (store_get_stats(h->store, &st) != UG_OK)
		return;
	mark(h->ops, OPS_MAP_FULL);
	map_one(h, "log", "log_map_mb", st.log_bytes, st.log_map_bytes,
		st.log_map_refused);
	map_one(h, "derived", "derived_map_mb", st.derived_bytes,
		st.derived_map_bytes, st.derived_map_refused);
	/* ids/ is mapped at log_map_mb too (store_ids.c). */
	map_one(h, "ids", "log_map_mb", st.ids_bytes, st.ids_map_bytes,
		st.ids_map_refused);
	sweep(h, OPS_MAP_FULL);
}

typedef struct {
	hub *h;
	bool covered;
	ug_err err; /* a registration or membership not read */
} desk_check;

static ug_err
desk_cb(void *ctx, const char *id, uint32_t flags)
{
	desk_check *d = ctx;
	if (d->covered)
		return UG_OK;
	/* A caseworker registered under the desk's own id (a shared desk
	 * login) works the desk's queue as their own: the desk is manned. */
	if (!(flags & STORE_FLAG_GATEWAY) &&
	    strcmp(id, d->h->rules.desk) == 0) {
		d->covered = true;
		return UG_OK;
	}
	bool member = false;
	ug_err err = hub__desk_member(d->h, id, &member);
	if (member)
		d->covered = true;
	else if (err != UG_OK && err != UG_ENOTFOUND)
		d->err = err;
	return UG_OK;
}

/* UG_OK and *covered, or the error of a read that failed while no one
 * read so far covers the desk: then whether anyone does is not known. */
static ug_err
desk_covered(hub *h, bool *covered)
{
	desk_check d = {h, false, UG_OK};
	ug_err err =
	    store_principal_list(h->store, STORE_CASEWORKER, desk_cb, &d);
	*covered = d.covered;
	if (d.covered)
		return UG_OK;
	return err != UG_OK ? err : d.err;
}

static void
raise_desk(hub *h)
{
	char title[160], why[400];
	snprintf(title, sizeof title, "Operations: nobody is on the desk %s",
		 h->rules.desk);
	snprintf(why, sizeof why,
		 "a legal deadline alert went to the desk "
		 "%s and no registered caseworker is a member of it today; "
		 "register one with hubctl register-caseworker --desk or a "
		 "DeskMembership",
		 h->rules.desk);
	holds(h, OPS_DESK_UNCOVERED, h->rules.desk, title, why);
}

/* A desk whose members cannot be read now is not a desk without any:
 * the question waits for the next check that can read them (check_desk)
 * rather than tell the ops people the desk is empty. */
void
hub__ops_deadline_to_desk(hub *h)
{
	if (!h->ops)
		return;
	bool covered = false;
	if (desk_covered(h, &covered) != UG_OK) {
		if (!h->ops->desk_due)
			log_warn("HUB-OPS",
				 "a deadline alert went to the desk %s and "
				 "its members cannot be read now: checked "
				 "again once they can",
				 h->rules.desk);
		h->ops->desk_due = true;
		return;
	}
	if (!covered)
		raise_desk(h);
}

/* Held only for the desk in force: after a reload naming another
 * routing.desk, the former desk's condition has no members left to
 * await and would otherwise stand until a restart. */
static void
check_desk(hub *h)
{
	struct hub_ops *o = h->ops;
	mark(o, OPS_DESK_UNCOVERED);
	active *a = find_active(o, OPS_DESK_UNCOVERED, h->rules.desk);
	if (!a && !o->desk_due) {
		sweep(h, OPS_DESK_UNCOVERED);
		return;
	}
	bool covered = false;
	if (desk_covered(h, &covered) != UG_OK) {
		/* Not known: neither ended nor raised. */
		if (a)
			a->seen = true;
		sweep(h, OPS_DESK_UNCOVERED);
		return;
	}
	/* Held on, or raised now: holds() also sends an alert the ops
	 * people could not be listed for when it was raised. */
	if ((a || o->desk_due) && !covered)
		raise_desk(h);
	o->desk_due = false;
	sweep(h, OPS_DESK_UNCOVERED);
}

static void
check_audit(hub *h)
{
	struct hub_ops *o = h->ops;
	/* The signing key is loaded by the delivery tick; verify after. */
	if (!h->keys->sign_secret)
		return;
	/* On the hub clock, as the other conditions: a clock set back
	 * starts the period again rather than verifying at every check. */
	if (o->audited && h->now < o->audit_at)
		o->audit_at = h->now;
	/* A verification that could not read the trail found nothing
	 * broken: the next check verifies again rather than leave the
	 * condition standing for ops_audit_hours. */
	if (o->audited && !o->audit_unread &&
	    (!o->audit_hours ||
	     h->now - o->audit_at < o->audit_hours * 3600000LL))
		return;
	o->audited = true;
	o->audit_at = h->now;
	store_audit_report r;
	ug_err err = store_audit_verify(
	    h->store,
	    h->keys->sign_secret + UG_SIGN_SECRET_LEN - UG_SIGN_PUBLIC_LEN,
	    &r);
	o->audit_broken = err != UG_OK || r.broken_seq != 0;
	o->audit_unread = err != UG_OK;
	if (err != UG_OK)
		snprintf(o->audit_problem, sizeof o->audit_problem,
			 "the audit trail cannot be read: %s",
			 ug_strerror(err));
	else if (r.broken_seq)
		snprintf(o->audit_problem, sizeof o->audit_problem,
			 "the audit chain is broken at record %llu: %.200s "
			 "(hubctl audit verify)",
			 (unsigned long long)r.broken_seq, r.problem);
}

static void
report_audit(hub *h)
{
	struct hub_ops *o = h->ops;
	mark(o, OPS_AUDIT_BROKEN);
	if (o->audit_broken)
		holds(h, OPS_AUDIT_BROKEN, "audit",
		      "Operations: the audit trail fails verification",
		      o->audit_problem);
	sweep(h, OPS_AUDIT_BROKEN);
}

/* Applying the log stops at a record that does not open: nothing after
 * it is judged by the rules and ingest stops for every agency once the
 * lag is full, until an operator acts (OPERATIONS.md, "Records that do
 * not open"). Cleared when the applier goes past it. */
static void
check_log_damaged(hub *h)
{
	mark(h->ops, OPS_LOG_DAMAGED);
	uint64_t seq = atomic_load(&h->apply_damaged);
	if (seq) {
		char why[400];
		snprintf(why, sizeof why,
			 "log record %llu does not open with the storage key "
			 "and applying the log stops there: no rule runs for "
			 "the events after it, and new events are refused "
			 "once %d wait. Restore a backup taken before the "
			 "damage, or pass it over: hubctl pass-damaged --seq "
			 "%llu --reason TEXT",
			 (unsigned long long)seq, HUB_APPLY_LAG_MAX,
			 (unsigned long long)seq);
		holds(h, OPS_LOG_DAMAGED, "log",
		      "Operations: applying the log stops at a damaged record",
		      why);
	}
	sweep(h, OPS_LOG_DAMAGED);
}

void
hub__ops_start(hub *h)
{
	struct hub_ops *o = h->ops;
	if (!o)
		return;
	/* Taken before HUB-READY, not at the first check: a hub clock moved
	 * on as soon as hubd said it serves is time since the start, and
	 * counting silence from a later check would hide it. */
	o->started = hub__clock(h);
	/* A misspelt id would be reported silent hours later while the
	 * agency meant goes unwatched: say so now. */
	for (size_t i = 0; i < o->nsilences; i++) {
		uint32_t flags;
		if (store_principal_flags(h->store, STORE_AGENCY,
					  o->silences[i].agency,
					  &flags) == UG_ENOTFOUND)
			log_warn("HUB-OPS",
				 "ops_silence names '%s', which is not a "
				 "registered agency: it will be reported "
				 "silent (hubctl register-agency, or correct "
				 "ops_silence)",
				 o->silences[i].agency);
	}
}

void
hub__ops_tick(hub *h)
{
	struct hub_ops *o = h->ops;
	int64_t mono = ug_mono_ms();
	if (!o || mono < o->next_check)
		return;
	o->next_check = mono + OPS_CHECK_MS;
	check_silence(h);
	/* Counting a queue opens every alert in it: on a store whose desk
	 * held 100,000 open alerts, once a second took a third of hubd's
	 * CPU. Its condition is measured in hours: count once a minute, when
	 * the hub clock moved a minute, and at once when this hub took an
	 * alert off a queue (another process's doing waits for the minute). */
	uint64_t unqueued = store_alerts_unqueued(h->store);
	if (mono >= o->next_queues || unqueued != o->queues_unqueued ||
	    h->now - o->queues_at >= OPS_QUEUES_MS || h->now < o->queues_at) {
		o->next_queues = mono + OPS_QUEUES_MS;
		o->queues_at = h->now;
		o->queues_unqueued = unqueued;
		check_queues(h);
	}
	check_map(h);
	check_desk(h);
	check_audit(h);
	report_audit(h);
	check_log_damaged(h);
}

void
hub__ops_metrics(hub *h, char **buf, size_t *len, size_t *cap, bool *failed)
{
	hub__metrics_put(buf, len, cap, failed,
			 "# HELP ungebro_ops_condition 1 while an operational "
			 "condition holds (any subject)\n"
			 "# TYPE ungebro_ops_condition gauge\n");
	for (int c = 0; c < OPS_COUNT; c++) {
		bool on = false;
		for (size_t i = 0; h->ops && i < h->ops->nactive; i++)
			on |= h->ops->active[i].cond == c;
		char line[128];
		snprintf(line, sizeof line,
			 "ungebro_ops_condition{condition=\"%s\"} %d\n",
			 conds[c].name, on);
		hub__metrics_put(buf, len, cap, failed, line);
	}
	hub__metrics_put(buf, len, cap, failed,
			 "# HELP ungebro_ops_active the subjects (agency, "
			 "recipient, env) an operational condition holds for\n"
			 "# TYPE ungebro_ops_active gauge\n");
	for (size_t i = 0; h->ops && i < h->ops->nactive; i++) {
		char line[256];
		snprintf(line, sizeof line,
			 "ungebro_ops_active{condition=\"%s\",subject=\"%s\"} "
			 "1\n",
			 conds[h->ops->active[i].cond].name,
			 h->ops->active[i].subject);
		hub__metrics_put(buf, len, cap, failed, line);
	}
}
