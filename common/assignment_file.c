#include "common/assignment_file.h"

#include "common/util.h"

int
ug_assign_role(const char *text)
{
	/* One list for both readers: a word one takes the other takes. */
	static const char *const words[] = {
	    "contact",	"contact person",      "kontaktperson", "kontakt",
	    "guidance", "guidance counsellor", "vejleder",	"uu vejleder",
	    "uu",	"vejledning",	       "mentor",	NULL};
	static const int role[] = {
	    UG_ASSIGN_CONTACT,	UG_ASSIGN_CONTACT,  UG_ASSIGN_CONTACT,
	    UG_ASSIGN_CONTACT,	UG_ASSIGN_GUIDANCE, UG_ASSIGN_GUIDANCE,
	    UG_ASSIGN_GUIDANCE, UG_ASSIGN_GUIDANCE, UG_ASSIGN_GUIDANCE,
	    UG_ASSIGN_GUIDANCE, UG_ASSIGN_MENTOR};
	int i = text && text[0] ? ug_word_match(text, words) : -1;
	return i < 0 ? -1 : role[i];
}
