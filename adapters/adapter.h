/*
 * The adapter runtime's public face. An agency's adapter is one ops table,
 * in the way nng describes a protocol:
 *
 *   const struct adapter_ops school_ops = {
 *       .name = "school", .columns = school_columns,
 *       .parse_row = school_parse_row,
 *   };
 *   int main(int argc, char **argv)
 *   { return adapter_main(&school_ops, argc, argv); }
 *
 * and the shared runtime does everything else: configuration, keys, the
 * `import FILE...` and `flush` commands, CSV reading, the rejects file,
 * the sealed outbox, and delivery to the hub over CURVE with acks,
 * retries and a summary (see SPEC: adapter-school). parse_row only turns
 * one row into one envelope or says, for a clerk, why it cannot.
 *
 * Event ids are deterministic: bytes 0-7 the big-endian occurred_at,
 * bytes 8-15 a BLAKE2b keyed with the agency's hash_key over the row's
 * natural key. Importing a file again therefore yields the same ids, the
 * outbox skips those already acked, and nothing is sent twice.
 *
 * The runtime never writes a CPR to a log or a diagnostic; parse_row must
 * not either (reasons name columns and quote only validated numbers).
 */
#ifndef UG_ADAPTER_H
#define UG_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "adapters/csv.h"
#include "common/crypto.h"
#include "common/err.h"
#include "proto/wire.h"

#define ADAPTER_COLUMNS_MAX 32	 /* columns an ops table may name */
#define ADAPTER_KEY_MAX	    1024 /* bytes of a natural key */

/* Exit codes of adapter_main (SPEC). */
enum {
	ADAPTER_EXIT_OK = 0,	  /* all delivered, no row rejected */
	ADAPTER_EXIT_REJECTS = 1, /* all delivered, some rows rejected */
	ADAPTER_EXIT_PENDING = 2, /* the outbox still holds events */
	ADAPTER_EXIT_FATAL = 3,	  /* usage, config, file or key refused */
};

/*
 * One CSV row as parse_row sees it: field[i] is the value (trimmed, never
 * NULL) of ops->columns[i] when the file has that column, NULL when an
 * optional column is absent from the file. Borrowed: valid during the
 * parse_row call and until the runtime has encoded its event.
 */
typedef struct adapter_row {
	const char *field[ADAPTER_COLUMNS_MAX];
} adapter_row;

/*
 * The event parse_row fills. adapter_event_init() has run: env is an
 * initialised envelope with valid_until 0. parse_row sets env.type,
 * env.sensitivity, env.cpr (point it at ev->cpr), env.occurred_at, the
 * payload (use ev->payload for its storage) and the natural key (with
 * adapter_key_add). Strings may point into the row or into ev.
 * The runtime sets env.agency, env.schema_version, env.sent_at and
 * env.event_id (see adapter_event_finish).
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
	} payload;
	Ungebro__V1__Consent consent; /* for addiction_referral */
	char cpr[11];
	char natural_key[ADAPTER_KEY_MAX];
	size_t natural_key_len;
	uint8_t event_id[WIRE_EVENT_ID_LEN];
} adapter_event;

struct adapter_ops {
	/* Short agency kind: the program is "adapter-<name>". */
	const char *name;
	/* One line for --help: what the input files are. */
	const char *description;
	/* The columns parse_row reads, ended by a NULL name; at most
	 * ADAPTER_COLUMNS_MAX. Row fields arrive in this order. */
	const csv_column *columns;
	/*
	 * Turn one row into ev. On failure return UG_EMALFORMED with the
	 * diag's field set to the column's canonical name and a reason a
	 * clerk can act on ("lessons_absent 30 is more than
	 * lessons_expected 24"), never quoting a CPR or unvalidated text;
	 * the runtime adds file and line and copies the row to the rejects
	 * file.
	 */
	ug_err (*parse_row)(const adapter_row *row, adapter_event *ev,
			    ug_diag *diag);
};

/*
 * Run an adapter program: parse argv (settings per SPEC; --help), run
 * `import FILE...` or `flush`, print the summary and return the exit code
 * (ADAPTER_EXIT_*). Call once per process, from main.
 */
int adapter_main(const struct adapter_ops *ops, int argc, char **argv);

/* Zero ev and initialise its envelope (valid_until 0, no payload). */
void adapter_event_init(adapter_event *ev);

/*
 * Append one part to ev's natural key, after a 0x1F separator unless it
 * is the first. UG_EMALFORMED if part holds a 0x1F byte (two different
 * rows could then share a key) or the key would exceed ADAPTER_KEY_MAX.
 */
ug_err adapter_key_add(adapter_event *ev, const char *part);

/*
 * The event id: out[0..7] = big-endian occurred_at, out[8..15] = the first
 * 8 bytes of BLAKE2b-128 keyed with hash_key over the natural key.
 */
void adapter_event_id(const uint8_t hash_key[UG_KEY_LEN], int64_t occurred_at,
		      const void *natural_key, size_t len,
		      uint8_t out[WIRE_EVENT_ID_LEN]);

/*
 * Finish an event parse_row filled: set agency (borrowed: must outlive
 * the encoding), schema version, sent_at = now_ms and the event id, wipe
 * the natural key (it holds a CPR), then check the envelope as the hub
 * will (wire_validate_envelope). UG_EMALFORMED with the diag filled if
 * the hub would refuse it.
 */
ug_err adapter_event_finish(adapter_event *ev, const char *agency,
			    const uint8_t hash_key[UG_KEY_LEN], int64_t now_ms,
			    ug_diag *diag);

/* The agencies this tree knows. */
extern const struct adapter_ops school_ops;

#endif
