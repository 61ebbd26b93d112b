/*
 * The web inbox's labels in Danish (the default) and English. Texts the
 * hub writes (alert titles, explanations, timeline summaries) are shown
 * as the hub wrote them.
 */
#ifndef UG_WEB_TEXT_H
#define UG_WEB_TEXT_H

enum web_lang { LANG_DA = 0, LANG_EN = 1 };

enum web_text {
	T_APP,
	T_SKIP,
	T_LOGIN,
	T_CASEWORKER,
	T_PASSWORD,
	T_WRONG,
	T_LIMITED,
	T_ALERTS,
	T_NO_ALERTS,
	T_PRIORITY,
	T_DUE,
	T_RAISED,
	T_FOR,
	T_DESK,
	T_PERSON,
	T_RULE,
	T_WHY,
	T_EVIDENCE,
	T_WHAT,
	T_AGENCY,
	T_WHEN,
	T_FIGURES,
	T_EXPECTED,
	T_ACK,
	T_NOTE,
	T_ACK_NOTE,
	T_RECORD,
	T_KIND,
	T_CONTACT,
	T_OFFER,
	T_UNREACHABLE,
	T_HOW,
	T_DATE,
	T_SAVE,
	T_TIMELINE,
	T_SHOW_TIMELINE,
	T_CPR,
	T_NOT_YOURS,
	T_LOGOUT,
	T_SAVED,
	T_ACKED,
	T_NOT_OPEN,
	T_HUB_DOWN,
	T_FORBIDDEN,
	T_LOGIN_EXPIRED,
	T_NOT_LOGGED_IN,
	T_EVENT,
	T_ALERT,
	T_OPEN,
	T_OTHER_LANG,
	T_SIGNED_IN,
	T_NOT_FOUND,
	T_LESSONS_OF,
	T_ACK_HELP,
	T_TIMELINE_HELP,
	T_NO_ENTRIES,
	T_ENDED,
	T_LIFETIME,
	T_NAV,
	T_MORE,
	T_NO_MORE,
	T_FIRST_ALERTS,
	T_LIST_CAPPED,
	T_TIMELINE_CAPPED,
	T_TOO_FAST,
	T_STORE_UNREADABLE,
	T_MALFORMED_CPR,
	T_LOGGED_OUT,
	T_ACTION_REFUSED,
	T_DESK_ALERT,
	T_SUPERSEDED,
	T_LIVE_UPDATED,
	T_TOO_LARGE,
	T_ACTION_DENIED,
	T_ACTION_LATER,
	T_ACTION_TOO_FAST,
	T_CPR_EMPTY,
	T_CPR_9,
	T_CPR_DATE,
	T_TIMELINE_PARTIAL,
	T_TIMELINE_PARTIAL_FAST,
	T_RECORD_LATER,
	T_GATEWAY_REFUSED,
	T_HUB_KEY_WRONG,
	T_TITLE_NOT_FOUND,
	T_TITLE_REFUSED,
	T_TITLE_TOO_LARGE,
	T_DATE_FORMAT,
	T_ACK_KEPT,
	T_ACK_NOT_KEPT,
	T_ACK_REFUSED,
	T_IDLE_WARNING,
	T_LIFETIME_WARNING,
	T_IDLE_LEFT,
	T_STAY,
	T_STAYED,
	T_COUNT
};

const char *web_text(enum web_lang lang, enum web_text which);
/* The hub's reason for refusing an Action (docs/PROTOCOL.md, "Recording
 * what was done") in the caseworker's language; NULL for a reason this
 * table does not know, which is then shown as the hub wrote it. */
const char *web_action_reason(enum web_lang lang, const char *reason);
/* "Lav", "Normal", "Høj", "Akut" / "Low", ... for a Priority value. */
const char *web_priority(enum web_lang lang, int priority);
/* An event type for a person ("Fraværsindberetning" / "Absence report"). */
const char *web_event_type(enum web_lang lang, int type);

#endif
