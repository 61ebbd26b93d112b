/*
 * The person profile and its stored format. The format is written field by
 * field (never the struct's bytes), so the compiler's layout cannot change
 * what is stored, and a profile of another format is refused rather than
 * read as zeroes: the hub then rebuilds derived state from the log.
 * tests/vectors/profile_v4.bin freezes one encoded profile.
 */
#include <stdlib.h>
#include <string.h>

#include "hub/calendar.h"
#include "hub/engine.h"

void
profile_init(profile *p, const char *cpr)
{
	memset(p, 0, sizeof *p);
	p->birth = UG_NO_BIRTH;
	for (size_t i = 0; i < sizeof p->missed / sizeof *p->missed; i++)
		p->missed[i] = PROFILE_NO_MISS;
	if (cpr && cpr[0]) {
		ug_strlcpy(p->cpr, cpr, sizeof p->cpr);
		p->birth = profile_birth_from_cpr(cpr);
	}
}

typedef struct {
	uint8_t *out;
	const uint8_t *in;
	size_t at, cap;
	bool ok;
} cursor;

static void
put_u64(cursor *c, uint64_t v)
{
	if (c->at + 8 > c->cap) {
		c->ok = false;
		return;
	}
	ug_put_be64(c->out + c->at, v);
	c->at += 8;
}

static uint64_t
get_u64(cursor *c)
{
	if (c->at + 8 > c->cap) {
		c->ok = false;
		return 0;
	}
	uint64_t v = ug_get_be64(c->in + c->at);
	c->at += 8;
	return v;
}

static void
put_bytes(cursor *c, const void *src, size_t n)
{
	if (c->at + n > c->cap) {
		c->ok = false;
		return;
	}
	memcpy(c->out + c->at, src, n);
	c->at += n;
}

static void
get_bytes(cursor *c, void *dst, size_t n)
{
	if (c->at + n > c->cap) {
		c->ok = false;
		return;
	}
	memcpy(dst, c->in + c->at, n);
	c->at += n;
}

/* A text field in a fixed buffer: stored terminated and read back
 * terminated whatever the bytes say. */
static void
get_text(cursor *c, char *dst, size_t n)
{
	get_bytes(c, dst, n);
	dst[n - 1] = '\0';
}

enum {
	F_ENROLLED = 1 << 0,
	F_DROPOUT_OPEN = 1 << 1,
	F_CONSENT = 1 << 2,
	F_REFERRAL_OPEN = 1 << 3,
	F_CONSENT_STAGE = 1 << 4,
	F_CONSENT_NO_REFERRAL = 1 << 5,
	F_CONSENT_EXPIRING = 1 << 6,
	/* The raising miss's sequence follows the signals: a profile
	 * without it keeps the bytes of this format. */
	F_MISSED_ALERT_SEQ = 1 << 7,
	/* A mask of the missed-activation slots that hold day 0
	 * (1970-01-01) follows: 0 alone is an empty slot, as ever. */
	F_MISSED_EPOCH = 1 << 8,
};

static uint64_t
missed_epoch_mask(const profile *p)
{
	uint64_t mask = 0;
	for (size_t i = 0; i < sizeof p->missed / sizeof *p->missed; i++)
		if (p->missed[i] == 0)
			mask |= UINT64_C(1) << i;
	return mask;
}

size_t
profile_encode(const profile *p, uint8_t *out, size_t cap)
{
	cursor c = {.out = out, .cap = cap, .ok = cap > 0};
	if (!c.ok)
		return 0;
	out[c.at++] = PROFILE_FORMAT;
	uint64_t flags = (p->enrolled ? F_ENROLLED : 0) |
			 (p->dropout_open ? F_DROPOUT_OPEN : 0) |
			 (p->consent ? F_CONSENT : 0) |
			 (p->referral_open ? F_REFERRAL_OPEN : 0) |
			 (p->consent_stage ? F_CONSENT_STAGE : 0) |
			 (p->consent_no_referral ? F_CONSENT_NO_REFERRAL : 0) |
			 /* Only where 0 is the day: the bytes of every
			  * other profile stay those of this format. */
			 (p->consent_expiring && p->consent_expires == 0
			      ? F_CONSENT_EXPIRING
			      : 0) |
			 (p->missed_alert_seq ? F_MISSED_ALERT_SEQ : 0) |
			 (missed_epoch_mask(p) ? F_MISSED_EPOCH : 0);
	put_u64(&c, flags);
	/* Without a CPR there is no birth date: stored as 0, as ever
	 * (decode tells it by the missing CPR). */
	int32_t birth = p->birth == UG_NO_BIRTH ? 0 : p->birth;
	const int32_t days[] = {birth,
				p->left_day,
				p->consent_expires,
				p->combined_until,
				p->enrolled_start,
				p->dropout_known,
				p->contact_day,
				p->offer_day,
				p->missed_alerted_until,
				p->gap_due,
				p->contact_due,
				p->offer_due,
				p->dropout_day,
				p->combined_from,
				p->referral_day,
				p->contact_days,
				p->offer_days,
				p->gap_days};
	for (size_t i = 0; i < sizeof days / sizeof *days; i++)
		put_u64(&c, (uint32_t)days[i]);
	for (size_t i = 0; i < sizeof p->missed / sizeof *p->missed; i++)
		put_u64(&c, p->missed[i] == PROFILE_NO_MISS
				? 0
				: (uint32_t)p->missed[i]);
	put_bytes(&c, p->cpr, sizeof p->cpr);
	put_bytes(&c, p->dropout_event_id, sizeof p->dropout_event_id);
	const uint64_t seqs[] = {p->left_seq, p->dropout_seq, p->referral_seq,
				 p->combined_seq, p->absence_alert_seq};
	for (size_t i = 0; i < sizeof seqs / sizeof *seqs; i++)
		put_u64(&c, seqs[i]);
	for (size_t i = 0; i < PROFILE_REFERRALS; i++) {
		put_u64(&c, p->referrals[i].first);
		put_u64(&c, p->referrals[i].latest);
		put_u64(&c, p->referrals[i].shared);
	}
	for (size_t i = 0; i < PROFILE_READINESS; i++) {
		put_u64(&c, p->readiness[i].seq);
		put_bytes(&c, p->readiness[i].event_id,
			  sizeof p->readiness[i].event_id);
	}
	uint8_t n =
	    p->nsignals > PROFILE_SIGNALS ? PROFILE_SIGNALS : p->nsignals;
	put_bytes(&c, &n, 1);
	for (uint8_t i = 0; i < n; i++) {
		put_bytes(&c, &p->signals[i].kind, 1);
		put_u64(&c, (uint32_t)p->signals[i].day);
		put_u64(&c, p->signals[i].seq);
		put_bytes(&c, p->signals[i].agency,
			  sizeof p->signals[i].agency);
	}
	if (p->missed_alert_seq)
		put_u64(&c, p->missed_alert_seq);
	if (missed_epoch_mask(p))
		put_u64(&c, missed_epoch_mask(p));
	return c.ok ? c.at : 0;
}

bool
profile_decode(profile *p, const uint8_t *in, size_t len)
{
	memset(p, 0, sizeof *p);
	if (len < 1 || in[0] != PROFILE_FORMAT)
		return false;
	cursor c = {.in = in, .cap = len, .at = 1, .ok = true};
	uint64_t flags = get_u64(&c);
	p->enrolled = flags & F_ENROLLED;
	p->dropout_open = flags & F_DROPOUT_OPEN;
	p->consent = flags & F_CONSENT;
	p->referral_open = flags & F_REFERRAL_OPEN;
	p->consent_stage = flags & F_CONSENT_STAGE;
	p->consent_no_referral = flags & F_CONSENT_NO_REFERRAL;
	int32_t *days[] = {
	    &p->birth,		&p->left_day,	    &p->consent_expires,
	    &p->combined_until, &p->enrolled_start, &p->dropout_known,
	    &p->contact_day,	&p->offer_day,	    &p->missed_alerted_until,
	    &p->gap_due,	&p->contact_due,    &p->offer_due,
	    &p->dropout_day,	&p->combined_from,  &p->referral_day,
	    &p->contact_days,	&p->offer_days,	    &p->gap_days};
	for (size_t i = 0; i < sizeof days / sizeof *days; i++)
		*days[i] = (int32_t)(uint32_t)get_u64(&c);
	for (size_t i = 0; i < sizeof p->missed / sizeof *p->missed; i++) {
		int32_t day = (int32_t)(uint32_t)get_u64(&c);
		p->missed[i] = day ? day : PROFILE_NO_MISS;
	}
	get_text(&c, p->cpr, sizeof p->cpr);
	/* A profile without a CPR has no birth date; with one, 0 is
	 * 1 January 1970. */
	if (!p->cpr[0])
		p->birth = UG_NO_BIRTH;
	/* 0 is an expires day too (1970-01-01, long past): the flag says
	 * so; a profile stored before the flag held 0 for none. */
	p->consent_expiring =
	    (flags & F_CONSENT_EXPIRING) || p->consent_expires != 0;
	get_bytes(&c, p->dropout_event_id, sizeof p->dropout_event_id);
	uint64_t *seqs[] = {&p->left_seq, &p->dropout_seq, &p->referral_seq,
			    &p->combined_seq, &p->absence_alert_seq};
	for (size_t i = 0; i < sizeof seqs / sizeof *seqs; i++)
		*seqs[i] = get_u64(&c);
	for (size_t i = 0; i < PROFILE_REFERRALS; i++) {
		p->referrals[i].first = get_u64(&c);
		p->referrals[i].latest = get_u64(&c);
		p->referrals[i].shared = get_u64(&c);
	}
	for (size_t i = 0; i < PROFILE_READINESS; i++) {
		p->readiness[i].seq = get_u64(&c);
		get_bytes(&c, p->readiness[i].event_id,
			  sizeof p->readiness[i].event_id);
	}
	uint8_t n = 0;
	get_bytes(&c, &n, 1);
	if (n > PROFILE_SIGNALS)
		return false;
	p->nsignals = n;
	for (uint8_t i = 0; c.ok && i < n; i++) {
		get_bytes(&c, &p->signals[i].kind, 1);
		p->signals[i].day = (int32_t)(uint32_t)get_u64(&c);
		p->signals[i].seq = get_u64(&c);
		get_text(&c, p->signals[i].agency,
			 sizeof p->signals[i].agency);
	}
	if (flags & F_MISSED_ALERT_SEQ)
		p->missed_alert_seq = get_u64(&c);
	if (flags & F_MISSED_EPOCH) {
		uint64_t mask = get_u64(&c);
		for (size_t i = 0; i < sizeof p->missed / sizeof *p->missed;
		     i++)
			if (mask >> i & 1u)
				p->missed[i] = 0;
	}
	return c.ok && c.at == len;
}

int32_t
profile_birth_from_cpr(const char *cpr)
{
	return ug_cpr_birth(cpr);
}

int
profile_age_on(int32_t birth, int32_t day)
{
	char b[11], d[11];
	ug_date_format(birth, b);
	ug_date_format(day, d);
	int age = atoi(d) - atoi(b);
	/* Not yet had this year's birthday ("MM-DD" compares as text). */
	if (strcmp(d + 5, b + 5) < 0)
		age--;
	return age;
}

/* Asked at each disclosure, never on the referral's date: a consent that
 * ended or narrowed since shares nothing more. The form the young person
 * signed says "until" a day in Danish time: judged by the UTC day, it
 * would share for one or two hours after it ended. */
bool
consent_allows(const profile *p, int64_t at_ms, bool stage)
{
	if (!p->consent ||
	    (p->consent_expiring &&
	     calendar_copenhagen_day(at_ms) > p->consent_expires))
		return false;
	return stage ? p->consent_stage : !p->consent_no_referral;
}
