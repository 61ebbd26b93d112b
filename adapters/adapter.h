/*
 * The adapter runtime's public face. An agency's adapter is one ops table
 * naming the kinds of record it reads, in the way nng describes a
 * protocol:
 *
 *   const struct adapter_kind school_absence_kind = {
 *       .name = "absence", .description = "...",
 *       .columns = absence_columns, .parse_row = absence_parse_row,
 *   };
 *   static const struct adapter_kind *const school_kinds[] = {
 *       &school_absence_kind, &school_readiness_kind, NULL,
 *   };
 *   const struct adapter_ops school_ops = {
 *       .name = "school", .description = "...", .kinds = school_kinds,
 *   };
 *   int main(int argc, char **argv)
 *   { return adapter_main(&school_ops, argc, argv); }
 *
 * and the shared runtime does everything else: configuration, keys, the
 * `import FILE...`, `flush` and `watch DIR` commands, CSV and JSON Lines
 * reading in UTF-8 or Windows-1252/Latin-1, choosing each file's kind
 * (from --kind or from its header), the rejects file, the sealed outbox,
 * corrections, and delivery to the hub over CURVE with acks, retries and a
 * summary (docs/ADAPTERS.md). parse_row only turns one row into one
 * envelope or says, for a clerk, why it cannot.
 *
 * Event ids are deterministic: bytes 0-7 the big-endian occurred_at,
 * bytes 8-15 a BLAKE2b keyed with the agency's hash_key over the row's
 * natural key and its content. Importing a file again therefore yields
 * the same ids and nothing is sent twice; a row whose natural key was
 * seen before with other content becomes a correction that supersedes
 * the event last sent for that key (see adapter_event_finish).
 *
 * The runtime never writes a CPR to a log or a diagnostic; parse_row must
 * not either (reasons name columns and quote only validated numbers).
 */
#ifndef UG_ADAPTER_H
#define UG_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/csv.h"
#include "common/err.h"
#include "proto/wire.h"

#define ADAPTER_COLUMNS_MAX 32	 /* columns a kind may name */
#define ADAPTER_KEY_MAX	    1024 /* bytes of a natural key */
#define ADAPTER_DATES_MAX   6	 /* normalised dates an event can hold */

/* Exit codes of adapter_main (docs/ADAPTERS.md). */
enum {
	ADAPTER_EXIT_OK = 0,	  /* all delivered, no row rejected */
	ADAPTER_EXIT_REJECTS = 1, /* all delivered, some rows rejected */
	ADAPTER_EXIT_PENDING = 2, /* the outbox still holds events */
	ADAPTER_EXIT_FATAL = 3,	  /* usage, config, a whole-file problem,
				     or the hub refused the key */
};

/*
 * One record as parse_row sees it, from a CSV row or a JSON Lines object
 * alike: field[i] is the value (trimmed, UTF-8, never NULL) of
 * kind->columns[i] when the file has that column, NULL when an optional
 * column is absent from the file. In JSON Lines a key that is missing
 * from one object, or null, reads as "" (like an empty CSV cell); a
 * number reads as its text. Borrowed: valid during the parse_row call and
 * until the runtime has encoded its event.
 */
typedef struct adapter_row {
	const char *field[ADAPTER_COLUMNS_MAX];
} adapter_row;

/*
 * The event parse_row fills. adapter_event_init() has run: env is an
 * initialised envelope with valid_until 0. parse_row sets env.type,
 * env.sensitivity, env.cpr (point it at ev->cpr; leave it NULL for
 * anonymous and organisational events), env.occurred_at, the payload
 * (use ev->payload for its storage) and the natural key (with
 * adapter_key_add). Strings may point into the row or into ev; a date
 * given in a Danish form must be stored as YYYY-MM-DD, e.g.
 * ug_date_format(days, ev->date[0]). The runtime sets env.agency,
 * env.schema_version, env.sent_at, env.event_id and env.supersedes.
 */
typedef struct adapter_event {
	wire_envelope env;
	union {
		Ungebro__V1__AbsenceReport absence_report;
		Ungebro__V1__Dropout dropout;
		Ungebro__V1__DropoutRisk dropout_risk;
		Ungebro__V1__Enrolment enrolment;
		Ungebro__V1__AddictionReferral addiction_referral;
		Ungebro__V1__ReadinessAssessment readiness_assessment;
		Ungebro__V1__ContactAssignment contact_assignment;
		Ungebro__V1__BenefitStatus benefit_status;
		Ungebro__V1__MissedActivation missed_activation;
		Ungebro__V1__SchoolLeaving school_leaving;
		Ungebro__V1__DeskMembership desk_membership;
	} payload;
	Ungebro__V1__Consent consent; /* for addiction_referral */
	char cpr[11];
	char date[ADAPTER_DATES_MAX][11]; /* storage for YYYY-MM-DD texts */
	char natural_key[ADAPTER_KEY_MAX];
	size_t natural_key_len;
	/* Set by adapter_event_finish: */
	uint8_t event_id[WIRE_EVENT_ID_LEN]; /* the id for this content */
	uint8_t key_hash[WIRE_EVENT_ID_LEN]; /* keyed hash of natural key */
	uint8_t supersedes[WIRE_EVENT_ID_LEN];
} adapter_event;

/* One kind of record an adapter reads: absence reports, readiness
 * assessments, ... Each input file holds one kind. */
struct adapter_kind {
	/* "absence", "readiness", "leaving": for --kind and messages. */
	const char *name;
	/* One line for --help: what one row of this kind is. */
	const char *description;
	/* The columns parse_row reads, ended by a NULL name; at most
	 * ADAPTER_COLUMNS_MAX. Row fields arrive in this order. */
	const csv_column *columns;
	/*
	 * Turn one row into ev. On failure return UG_EMALFORMED with the
	 * diag's field set to the column's canonical name and a reason a
	 * clerk can act on ("lessons_absent 30 is more than
	 * lessons_expected 24"), never quoting a CPR or unvalidated text;
	 * the runtime adds file, line and the file's own column name and
	 * copies the row to the rejects file. The natural key must identify
	 * the record (not its values), so that a changed value makes a
	 * correction rather than a second record.
	 */
	ug_err (*parse_row)(const adapter_row *row, adapter_event *ev,
			    ug_diag *diag);
};

struct adapter_ops {
	/* Short agency kind: the program is "adapter-<name>". */
	const char *name;
	/* One line for --help: what the program imports. */
	const char *description;
	/* The record kinds, ended by NULL; at least one. */
	const struct adapter_kind *const *kinds;
};

/*
 * Run an adapter program: parse argv (settings: --help), run
 * `import FILE...`, `flush` or `watch DIR`, print the summary and return
 * the exit code (ADAPTER_EXIT_*). Call once per process, from main.
 */
int adapter_main(const struct adapter_ops *ops, int argc, char **argv);

/* The kind of ops called name (case-insensitive), or NULL. */
const struct adapter_kind *adapter_find_kind(const struct adapter_ops *ops,
					     const char *name);

/* ---- helpers for parse_row ----------------------------------------- */

/*
 * Parse a calendar date written as ISO "2024-03-01" or Danish
 * "01-03-2024" / "01.03.2024" (day and month with two digits, year with
 * four), the whole text and nothing else; it must be a real date
 * (no 2023-02-29). *days = days since 1970-01-01. UG_EMALFORMED if not.
 */
ug_err adapter_parse_date(const char *text, int32_t *days);
/*
 * Whether text, in one of adapter_parse_date's forms, is a real calendar
 * day in any year 0001-9999 (those adapter_parse_date refuses too), and
 * its ISO form in iso: such a day is out of range, not "not a date".
 */
bool adapter_date_iso(const char *text, char iso[11]);

/*
 * Parse a whole number 0..max written in decimal digits only (no sign,
 * no blanks: fields arrive trimmed), at most 9 digits so that quoting
 * it back in a reason can never show a CPR. UG_EMALFORMED if text is
 * empty or not digits, UG_EINVAL (a distinct error, so a reason can say
 * "too large") if it is above max.
 */
ug_err adapter_parse_uint(const char *text, unsigned max, unsigned *out);

/*
 * Match text against a NULL-terminated list of words, ignoring case
 * (ASCII and the Danish letters Æ Ø Å as UTF-8) and reading ' ', '-' and
 * '_' alike, so "Ikke parat", "ikke-parat" and "IKKE_PARAT" are one word.
 * Returns the index of the first word that matches, or -1. For
 * enumerations with Danish and English synonyms, list both and map the
 * index: {"ready", "parat", "not ready", "ikke parat", NULL}.
 */
int adapter_match(const char *text, const char *const *words);

/* Zero ev and initialise its envelope (valid_until 0, no payload). */
void adapter_event_init(adapter_event *ev);

/*
 * Append one part to ev's natural key, after a 0x1F separator unless it
 * is the first. UG_EMALFORMED if part holds a 0x1F byte (two different
 * rows could then share a key) or the key would exceed ADAPTER_KEY_MAX.
 */
ug_err adapter_key_add(adapter_event *ev, const char *part);

/*
 * Finish an event parse_row filled: set agency (borrowed: must outlive
 * the encoding) and the schema version, check the envelope as the hub
 * will (wire_validate_envelope, at now_ms), then compute
 *   key_hash = BLAKE2b-128(hash_key, natural key)
 *   event_id = BE64(occurred_at) ||
 *              BLAKE2b-64(hash_key, natural key || 0x1E || content)
 * where content is the protobuf encoding of the envelope with sent_at 0
 * and no event_id or supersedes: the same record with the same values
 * always gets the same id, a changed value a new one. Wipes the natural
 * key (it holds a CPR) and leaves env.sent_at = now_ms, env.event_id =
 * ev->event_id. The runtime's outbox then decides whether it is new, a
 * repeat, or a correction (and sets supersedes). UG_EMALFORMED with the
 * diag filled if the hub would refuse the event; UG_ENOMEM.
 */
ug_err adapter_event_finish(adapter_event *ev, const char *agency,
			    const uint8_t hash_key[UG_KEY_LEN], int64_t now_ms,
			    ug_diag *diag);

/* ---- the agencies this tree knows ---------------------------------- */

extern const struct adapter_ops school_ops;
extern const struct adapter_ops college_ops;
extern const struct adapter_ops addiction_ops;
extern const struct adapter_ops jobcenter_ops;
extern const struct adapter_ops youthunit_ops;

extern const struct adapter_kind school_absence_kind;

#endif
