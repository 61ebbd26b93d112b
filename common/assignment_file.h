#ifndef UG_ASSIGNMENT_FILE_H
#define UG_ASSIGNMENT_FILE_H

#include <stdbool.h>

/*
 * An assignments file as the youth unit exports it, read by
 * adapter-youthunit and by hubctl assign --file alike, so that a file one
 * of them reads is not read otherwise by the other (a "rolle" column
 * ignored made every mentor a contact person; a "vejleder" refused by
 * one was a guidance counsellor to the other). Dates in its three forms
 * are ug_date_form_iso's (common/util.h).
 */

/* The other names of its columns. */
#define UG_ASSIGN_CPR_ALIASES "cprnr", "cpr_nr"
/* "case_worker": a spreadsheet's "Case worker" heading. */
#define UG_ASSIGN_CASEWORKER_ALIASES                                          \
	"case_worker", "caseworker_id", "sagsbehandler", "kontaktperson",     \
	    "medarbejder"
#define UG_ASSIGN_ROLE_ALIASES "rolle", "funktion"
#define UG_ASSIGN_FROM_ALIASES "fra", "start", "startdato", "from_date"
#define UG_ASSIGN_TO_ALIASES   "til", "slut", "slutdato", "to_date"

/* The roles, by their ContactRole numbers (proto/wire.c checks that the
 * two agree). */
enum {
	UG_ASSIGN_CONTACT = 1,
	UG_ASSIGN_GUIDANCE = 2,
	UG_ASSIGN_MENTOR = 3,
};

/*
 * The role a role column's word names, English or the youth unit's
 * Danish (ug_word_match: case, ' ', '-' and '_' do not matter):
 * contact, contact person, kontaktperson, kontakt; guidance, guidance
 * counsellor, vejleder, UU-vejleder, uu, vejledning; mentor. -1 for any
 * other text; "" is no word (the callers read it as contact).
 */
int ug_assign_role(const char *text);

/* The words a reason names, after the roles' own names. */
#define UG_ASSIGN_ROLE_WORDS "kontaktperson, UU-vejleder, mentor"

#endif
