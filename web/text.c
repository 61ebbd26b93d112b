/* The labels; see text.h. */
#include "web/text.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "proto/wire.h"

static const char *const texts[T_COUNT][2] = {
    [T_APP] = {"Ungeindbakke", "Youth inbox"},
    [T_SKIP] = {"Spring til indhold", "Skip to content"},
    [T_LOGIN] = {"Log ind", "Log in"},
    [T_CASEWORKER] = {"Sagsbehandler-id", "Caseworker id"},
    [T_PASSWORD] = {"Adgangskode", "Password"},
    [T_WRONG] = {"Forkert sagsbehandler-id eller adgangskode.",
		 "Wrong caseworker id or password."},
    [T_LIMITED] = {"For mange mislykkede forsøg. Vent lidt, og prøv igen.",
		   "Too many failed attempts. Wait a while and try "
		   "again."},
    [T_ALERTS] = {"Åbne advarsler", "Open alerts"},
    [T_NO_ALERTS] = {"Du har ingen åbne advarsler.",
		     "You have no open alerts."},
    [T_PRIORITY] = {"Prioritet", "Priority"},
    [T_DUE] = {"Frist", "Due"},
    [T_RAISED] = {"Rejst", "Raised"},
    [T_FOR] = {"Til", "For"},
    [T_DESK] = {"vagtteamet", "the duty desk"},
    [T_PERSON] = {"Den unge (CPR)", "Young person (CPR)"},
    [T_RULE] = {"Regel", "Rule"},
    [T_WHY] = {"Hvorfor advarslen kom", "Why it fired"},
    [T_EVIDENCE] = {"Grundlag", "Evidence"},
    [T_WHAT] = {"Hvad", "What"},
    [T_AGENCY] = {"Afsender", "Agency"},
    [T_WHEN] = {"Hvornår", "When"},
    [T_FIGURES] = {"Tal", "Figures"},
    [T_EXPECTED] = {"Forventet af dig senest", "Expected of you by"},
    [T_ACK] = {"Kvittér for advarslen", "Acknowledge the alert"},
    /* The hub counts bytes: æ, ø and å take two. */
    /* Named apart: a screen reader's list of fields shows labels alone. */
    [T_NOTE] = {"Note til handlingen (valgfri, højst 200 bytes; æ, ø og å "
		"tæller for 2)",
		"Note on the action (optional, at most 200 bytes; æ, ø and å "
		"count as 2)"},
    [T_ACK_NOTE] = {"Note til kvitteringen (valgfri, højst 200 bytes; æ, ø "
		    "og å tæller for 2)",
		    "Note with the acknowledgement (optional, at most 200 "
		    "bytes; æ, ø and å count as 2)"},
    [T_RECORD] = {"Registrér hvad du har gjort", "Record what you did"},
    [T_KIND] = {"Hvad skete der", "What happened"},
    [T_CONTACT] = {"Kontakt opnået", "Contact made"},
    [T_OFFER] = {"Tilbud givet", "Offer made"},
    [T_UNREACHABLE] = {"Kunne ikke træffes", "Could not reach"},
    [T_HOW] = {"Hvordan (telefon, møde, hjemmebesøg, brev) eller hvad "
	       "blev tilbudt",
	       "How (phone, meeting, home visit, letter) or what was "
	       "offered"},
    [T_DATE] = {"Dato (ÅÅÅÅ-MM-DD; tom = i dag)",
		"Date (YYYY-MM-DD; empty = today)"},
    [T_SAVE] = {"Gem", "Save"},
    [T_TIMELINE] = {"Tidslinje", "Timeline"},
    [T_SHOW_TIMELINE] = {"Vis tidslinje", "Show timeline"},
    [T_CPR] = {"CPR-nummer (10 cifre)", "CPR number (10 digits)"},
    [T_NOT_YOURS] = {"Denne person er ikke tildelt dig eller dit team. "
		     "Du kan ikke se tidslinjen.",
		     "This person is not assigned to you or your desk. "
		     "You cannot see the timeline."},
    [T_LOGOUT] = {"Log ud", "Log out"},
    [T_SAVED] = {"Handlingen er gemt.", "The action is saved."},
    [T_ACKED] = {"Advarslen er kvitteret.", "The alert is acknowledged."},
    [T_NOT_OPEN] = {"Advarslen er ikke åben for dig (den er kvitteret, "
		    "eller den er ikke din).",
		    "This alert is not open for you (it is acknowledged, "
		    "or it is not yours)."},
    [T_HUB_DOWN] = {"Hubben svarer ikke lige nu. Prøv igen om lidt.",
		    "The hub does not answer right now. Try again "
		    "shortly."},
    [T_TOO_FAST] = {"Du har bedt om mange sider på kort tid. Vent et "
		    "øjeblik, og prøv igen.",
		    "You asked for many pages in a short time. Wait a "
		    "moment and try again."},
    [T_STORE_UNREADABLE] = {"Hubbens data kan ikke læses lige nu. Kontakt "
			    "driften (IT-support) og sig, hvilken side det "
			    "drejer sig om; det hjælper ikke at prøve igen.",
			    "The hub's data cannot be read right now. "
			    "Contact IT operations and say which page it is; "
			    "trying again does not help."},
    [T_FORBIDDEN] = {"Formularen er udløbet eller ugyldig. Gå tilbage, "
		     "genindlæs siden og prøv igen.",
		     "The form has expired or is not valid. Go back, "
		     "reload the page and try again."},
    [T_LOGIN_EXPIRED] = {"Formularen var udløbet eller ugyldig. Log ind "
			 "igen.",
			 "The form had expired or was not valid. Log in "
			 "again."},
    [T_NOT_LOGGED_IN] = {"Formularen blev ikke sendt, fordi du ikke er "
			 "logget ind. Log ind, og prøv igen.",
			 "The form was not sent, because you are not logged "
			 "in. Log in and try again."},
    [T_EVENT] = {"Hændelse", "Event"},
    [T_ALERT] = {"Advarsel", "Alert"},
    [T_OPEN] = {"åben", "open"},
    [T_OTHER_LANG] = {"English", "Dansk"},
    [T_SIGNED_IN] = {"Logget ind som", "Logged in as"},
    [T_NOT_FOUND] = {"Siden findes ikke.", "No such page."},
    [T_LESSONS_OF] = {"%u af %u lektioner fravær", "%u of %u lessons absent"},
    [T_ACK_HELP] = {"Kvittering betyder kun, at du har set advarslen.",
		    "Acknowledging only says that you have seen the "
		    "alert."},
    [T_TIMELINE_HELP] = {"Hændelser, advarsler og handlinger fra alle "
			 "afsendere i datoorden. Kun for unge, der er "
			 "tildelt dig eller dit team.",
			 "Events, alerts and actions from every agency in "
			 "date order. Only for young people assigned to "
			 "you or your desk."},
    [T_NO_ENTRIES] = {"Ingen poster.", "No entries."},
    [T_ENDED] = {"Din session er udløbet. Log ind igen.",
		 "Your session has ended. Log in again."},
    [T_LIFETIME] = {"Din session er udløbet, fordi den har varet så længe, "
		    "som en session må. Log ind igen.",
		    "Your session has ended because it has lasted as long "
		    "as a session may. Log in again."},
    [T_NAV] = {"Hovedmenu", "Main menu"},
    [T_MORE] = {"Flere advarsler", "More alerts"},
    /* A later page whose alerts were acknowledged meanwhile: not "you
     * have none", which the first page may contradict. */
    [T_NO_MORE] = {"Der er ikke flere åbne advarsler.",
		   "There are no more open alerts."},
    [T_FIRST_ALERTS] = {"Til de første advarsler", "To the first alerts"},
    [T_LIST_CAPPED] = {"Kun de første 5.000 åbne advarsler kan vises.",
		       "Only the first 5,000 open alerts can be shown."},
    [T_TIMELINE_CAPPED] = {"Tidslinjen har flere end 5.000 poster: kun "
			   "5.000 kan vises, og de nyeste kan mangle.",
			   "The timeline has more than 5,000 entries: only "
			   "5,000 can be shown, and the newest may be "
			   "missing."},
    [T_MALFORMED_CPR] = {"Skriv et CPR-nummer med 10 cifre (DDMMÅÅSSSS, "
			 "DDMMÅÅ-SSSS eller DDMMÅÅ SSSS).",
			 "Enter a CPR number of 10 digits (DDMMYYSSSS, "
			 "DDMMYY-SSSS or DDMMYY SSSS)."},
    [T_TIMELINE_PARTIAL] = {"Ikke alle poster kunne vises: listen "
			    "slutter her.",
			    "Not every entry could be shown: the list "
			    "ends here."},
    [T_TIMELINE_PARTIAL_FAST] = {"Ikke alle poster kunne vises: listen "
				 "slutter her, fordi du har bedt om mange "
				 "sider på kort tid. Vent et øjeblik, og "
				 "genindlæs siden for at se resten.",
				 "Not every entry could be shown: the list "
				 "ends here because you asked for many pages "
				 "in a short time. Wait a moment and reload "
				 "the page to see the rest."},
    [T_RECORD_LATER] = {"Har du kvitteret for den, kan du stadig "
			"registrere, hvad du har gjort.",
			"If you have acknowledged it, you can still record "
			"what you did."},
    [T_GATEWAY_REFUSED] = {"Webindbakken er ikke tilsluttet hubben lige "
			   "nu. Prøv igen senere, eller kontakt driften.",
			   "The web inbox is not admitted by the hub right "
			   "now. Try again later, or contact operations."},
    [T_HUB_KEY_WRONG] = {"Webindbakken kan ikke oprette en sikker "
			 "forbindelse til hubben (dens nøgle passer ikke). "
			 "Kontakt driften; det hjælper ikke at prøve igen.",
			 "The web inbox cannot set up a secure connection "
			 "to the hub (its key does not match). Contact IT "
			 "operations; trying again does not help."},
    [T_CPR_EMPTY] = {"Skriv et CPR-nummer.", "Enter a CPR number."},
    [T_CPR_9] = {"CPR-nummeret har 9 cifre: et regneark kan have fjernet "
		 "det første 0.",
		 "The CPR number has 9 digits: a spreadsheet may have "
		 "dropped its leading 0."},
    [T_CPR_DATE] = {"Det er ikke et CPR-nummer: de første seks cifre er "
		    "ikke en rigtig fødselsdato (DDMMÅÅ).",
		    "That is not a CPR number: the first six digits are "
		    "not a real birth date (DDMMYY)."},
    [T_LOGGED_OUT] = {"Du er logget ud.", "You are logged out."},
    [T_IDLE_WARNING] = {"Du bliver snart logget ud, fordi du ikke har "
			"været aktiv. Vælg \"Forbliv logget ind\" for at "
			"fortsætte.",
			"You will soon be logged out because you have been "
			"inactive. Choose \"Stay logged in\" to go on."},
    [T_LIFETIME_WARNING] = {"Du bliver snart logget ud, fordi din session "
			    "har varet så længe, som en session må. Gem det, "
			    "du er i gang med, og log ind igen.",
			    "You will soon be logged out because your session "
			    "has lasted as long as a session may. Save what "
			    "you are doing and log in again."},
    [T_IDLE_LEFT] = {"Tid tilbage:", "Time left:"},
    [T_STAY] = {"Forbliv logget ind", "Stay logged in"},
    [T_STAYED] = {"Du er stadig logget ind.", "You are still logged in."},
    [T_ACTION_REFUSED] = {"Handlingen blev ikke gemt:",
			  "The action was not saved:"},
    [T_DESK_ALERT] = {"til vagtteamet", "for the duty desk"},
    [T_SUPERSEDED] = {"rettet senere", "corrected later"},
    [T_LIVE_UPDATED] = {"Listen over åbne advarsler er opdateret.",
			"The list of open alerts was updated."},
    [T_TOO_LARGE] = {"Formularen er for stor (højst 16 KiB). Gå tilbage, "
		     "gør teksten kortere og prøv igen.",
		     "The form is too large (at most 16 KiB). Go back, "
		     "shorten the text and try again."},
    [T_ACTION_DENIED] = {"Advarslen er ikke stilet til dig eller dit team.",
			 "This alert is not addressed to you or your "
			 "desk."},
    /* Page titles of the error pages: a tab or a screen reader's list
     * of windows says what went wrong, not only the app's name. */
    [T_TITLE_NOT_FOUND] = {"Siden findes ikke", "Page not found"},
    [T_TITLE_REFUSED] = {"Formularen blev afvist", "Form refused"},
    [T_TITLE_TOO_LARGE] = {"Formularen er for stor", "Form too large"},
    /* The date field's placeholder, as its label spells the format. */
    [T_DATE_FORMAT] = {"ÅÅÅÅ-MM-DD", "YYYY-MM-DD"},
    [T_ACK_KEPT] = {"Kvitteringen er modtaget og gemmes, så snart hubben "
		    "kan. Advarslen kan stå som åben så længe.",
		    "The acknowledgement is received and will be stored "
		    "as soon as the hub can. Until then the alert may "
		    "still show as open."},
    [T_ACK_NOT_KEPT] = {"Kvitteringen blev ikke gemt: hubben kan ikke "
			"gemme den lige nu. Kvittér igen om lidt.",
			"The acknowledgement was not stored: the hub "
			"cannot store it right now. Acknowledge again "
			"shortly."},
    [T_ACK_REFUSED] = {"Kvitteringen blev ikke gemt:",
		       "The acknowledgement was not saved:"},
    [T_ACTION_LATER] = {"Hubben kan ikke gemme handlingen lige nu. Prøv "
			"igen om lidt.",
			"The hub cannot store the action right now. Try "
			"again shortly."},
    [T_ACTION_TOO_FAST] = {"Du har gemt mange handlinger på kort tid. Vent "
			   "et øjeblik, og prøv igen.",
			   "You saved many actions in a short time. Wait a "
			   "moment and try again."},
};

const char *
web_text(enum web_lang lang, enum web_text which)
{
	const char *t = texts[which][lang == LANG_EN];
	return t ? t : "";
}

const char *
web_action_reason(enum web_lang lang, const char *reason)
{
	static const char *const reasons[][3] = {
	    {"kind must be CONTACT_MADE, OFFER_MADE or COULD_NOT_REACH",
	     "Vælg hvad der skete: kontakt opnået, tilbud givet eller "
	     "kunne ikke træffes.",
	     "Choose what happened: contact made, offer made or could not "
	     "reach."},
	    {"date must be the day it was done, YYYY-MM-DD",
	     "Datoen skal være dagen, det skete, skrevet ÅÅÅÅ-MM-DD "
	     "(eller tom for i dag).",
	     "The date must be the day it was done, written YYYY-MM-DD "
	     "(or empty for today)."},
	    {"date is in the future: record an action once it is done",
	     "Datoen ligger i fremtiden: registrér handlingen, når den er "
	     "gjort.",
	     "The date is in the future: record the action once it is "
	     "done."},
	    {"how must say what was offered", "Skriv hvad der blev tilbudt.",
	     "Say what was offered."},
	    {"how must say how (phone, meeting, home visit, letter, ...)",
	     "Skriv hvordan (telefon, møde, hjemmebesøg, brev ...).",
	     "Say how (phone, meeting, home visit, letter, ...)."},
	    {"how is longer than 256 bytes",
	     "Hvordan er for lang: højst 256 bytes (æ, ø og å tæller for "
	     "2).",
	     "How is too long: at most 256 bytes (æ, ø and å count as 2)."},
	    {"note is longer than 200 bytes",
	     "Noten er for lang: højst 200 bytes (æ, ø og å tæller for 2).",
	     "The note is too long: at most 200 bytes (æ, ø and å count as "
	     "2)."},
	    {"how contains a NUL byte",
	     "Hvordan indeholder et tegn, der ikke kan gemmes (NUL).",
	     "How holds a character that cannot be stored (NUL)."},
	    {"note contains a NUL byte",
	     "Noten indeholder et tegn, der ikke kan gemmes (NUL).",
	     "The note holds a character that cannot be stored (NUL)."},
	    {"how is not valid UTF-8", "Hvordan er ikke gyldig tekst (UTF-8).",
	     "How is not valid text (UTF-8)."},
	    {"note is not valid UTF-8", "Noten er ikke gyldig tekst (UTF-8).",
	     "The note is not valid text (UTF-8)."},
	};
	for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
		if (reason && strcmp(reason, reasons[i][0]) == 0)
			return reasons[i][lang == LANG_EN ? 2 : 1];
	return NULL;
}

const char *
web_priority(enum web_lang lang, int priority)
{
	bool en = lang == LANG_EN;
	switch (priority) {
	case UNGEBRO__V1__PRIORITY__LOW:
		return en ? "Low" : "Lav";
	case UNGEBRO__V1__PRIORITY__NORMAL:
		return "Normal";
	case UNGEBRO__V1__PRIORITY__HIGH:
		return en ? "High" : "Høj";
	case UNGEBRO__V1__PRIORITY__URGENT:
		return en ? "Urgent" : "Akut";
	default:
		return "-";
	}
}

const char *
web_event_type(enum web_lang lang, int type)
{
	/* English is the protocol's label, which inbox prints too. */
	if (lang == LANG_EN)
		return wire_event_type_label(type);
	static const char *const names[] = {
	    [UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT] = "Fraværsindberetning",
	    [UNGEBRO__V1__EVENT_TYPE__DROPOUT] = "Frafald",
	    [UNGEBRO__V1__EVENT_TYPE__DROPOUT_RISK] = "Risiko for frafald",
	    [UNGEBRO__V1__EVENT_TYPE__ENROLMENT] = "Optagelse",
	    [UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL] =
		"Henvisning til misbrugsbehandling",
	    [UNGEBRO__V1__EVENT_TYPE__READINESS_ASSESSMENT] =
		"Uddannelsesparathedsvurdering",
	    [UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT] = "Kontaktperson",
	    [UNGEBRO__V1__EVENT_TYPE__BENEFIT_STATUS] = "Ydelse",
	    [UNGEBRO__V1__EVENT_TYPE__MISSED_ACTIVATION] =
		"Udeblivelse fra aktivering",
	    [UNGEBRO__V1__EVENT_TYPE__SCHOOL_LEAVING] = "Skoleafgang",
	    [UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP] = "Vagtteam",
	    [UNGEBRO__V1__EVENT_TYPE__CASEWORKER_ACTION] =
		"Registreret handling",
	};
	if (type <= 0 || (unsigned)type >= sizeof names / sizeof *names ||
	    !names[type])
		return "-";
	return names[type];
}
