#ifndef UG_ASSIGNMENT_FILE_H
#define UG_ASSIGNMENT_FILE_H

/*
 * The other names of an assignments file's columns: the youth unit's
 * export, read by adapter-youthunit and by hubctl assign --file alike, so
 * that a file one of them reads is not read otherwise by the other (a
 * "rolle" column ignored made every mentor a contact person).
 */
#define UG_ASSIGN_CPR_ALIASES "cprnr", "cpr_nr"
#define UG_ASSIGN_CASEWORKER_ALIASES                                          \
	"caseworker_id", "sagsbehandler", "kontaktperson", "medarbejder"
#define UG_ASSIGN_ROLE_ALIASES "rolle", "funktion"
#define UG_ASSIGN_FROM_ALIASES "fra", "start", "startdato", "from_date"
#define UG_ASSIGN_TO_ALIASES   "til", "slut", "slutdato", "to_date"

#endif
