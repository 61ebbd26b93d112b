/*
 * A person's timeline page: asked for with a POST, so that no CPR
 * number appears in a URL.
 */
#include "web/webd_int.h"

/* One answer's timeline entries, as list items. */
static void
timeline_entries(ctx *x, web_buf *b, const wire_result *r)
{
	for (size_t i = 0; i < r->n_timeline; i++) {
		const Ungebro__V1__TimelineEntry *e = r->timeline[i];
		web_addf(b, "<li class=\"%s\"><span class=\"date\">",
			 e->is_alert ? "t-alert" : "t-event");
		web_esc(b, e->date);
		web_add(b, "</span> <span class=\"badge\">");
		web_esc(b, e->is_alert ? T(x, T_ALERT)
				       : web_event_type(x->lang, e->type));
		web_add(b, "</span> ");
		if (!e->is_alert && e->agency) {
			web_add(b, "<span class=\"agency\">");
			web_esc(b, e->agency);
			web_add(b, "</span> ");
		}
		/* A recorded action's summary is the hub's "contact made by
		 * ID:" and then the caseworker's own words (how, note), which
		 * are not English for a screen reader to read as such. */
		const char *words =
		    !e->is_alert && e->summary && webd__hub_text_lang(x)[0] &&
			    e->type ==
				UNGEBRO__V1__EVENT_TYPE__CASEWORKER_ACTION
			? strstr(e->summary, ": ")
			: NULL;
		web_addf(b, "<span class=\"summary\"%s>",
			 words ? "" : webd__hub_text_lang(x));
		if (words) {
			char *hubs = strndup(e->summary,
					     (size_t)(words - e->summary) + 1);
			web_add(b, "<span lang=\"en\">");
			web_esc(b, hubs ? hubs : "");
			web_add(b, "</span> ");
			web_esc(b, words + 2);
			free(hubs);
		} else if (e->is_alert &&
			   e->alert_id.len == WIRE_ALERT_ID_LEN) {
			/* The way back to an acknowledged alert, to record
			 * what was done about it. */
			char hexid[2 * WIRE_ALERT_ID_LEN + 1];
			ug_hex(e->alert_id.data, WIRE_ALERT_ID_LEN, hexid);
			web_addf(b, "<a href=\"/alert/%s\">", hexid);
			web_esc(b, e->summary);
			web_add(b, "</a>");
		} else {
			web_esc(b, e->summary);
		}
		web_add(b, "</span>");
		if (e->is_alert && e->open) {
			web_add(b, " <span class=\"open\">(");
			web_esc(b, T(x, T_OPEN));
			web_add(b, ")</span>");
		}
		web_add(b, "</li>");
	}
}

/* Why the hub would not read a CPR (its reasons start the same way as
 * ug_cpr_parse's), for the person who typed it. */
static enum web_text
cpr_refusal(const char *reason)
{
	if (!reason)
		return T_MALFORMED_CPR;
	if (strncmp(reason, "cpr is empty", 12) == 0)
		return T_CPR_EMPTY;
	if (strncmp(reason, "cpr has 9 digits", 16) == 0)
		return T_CPR_9;
	if (strstr(reason, "not a real birth date"))
		return T_CPR_DATE;
	return T_MALFORMED_CPR;
}

enum MHD_Result
webd__timeline_page(ctx *x, const form *f)
{
	const char *typed = f ? webd__form_get(f, "cpr") : NULL;
	/* Sent on as text, a CPR would end at a NUL byte (%00), and what
	 * came before it may be a CPR: the hub is asked with one it cannot
	 * read instead, and answers (and audits) it as such. */
	bool cut = f && webd__form_has_nul(f, "cpr");
	/* A pasted number often brings a blank or a line break with it. */
	char cpr_buf[32];
	const char *cpr = typed;
	if (typed) {
		size_t start = strspn(typed, " \t\r\n");
		size_t len = strlen(typed + start);
		while (len && strchr(" \t\r\n", typed[start + len - 1]))
			len--;
		if (len < sizeof cpr_buf) {
			memcpy(cpr_buf, typed + start, len);
			cpr_buf[len] = '\0';
			cpr = cpr_buf;
		}
	}
	/* Asked before the form is written: a CPR the hub cannot read
	 * marks the field invalid and points it at the reason. */
	wire_result *r = NULL;
	bool silent = false;
	if (cpr) {
		r = webd__query(x, UNGEBRO__V1__QUERY_KIND__TIMELINE,
				cut ? "-" : cpr, TIMELINE_PAGE, 0);
		if (webd__unauthenticated(x->w, r)) {
			webd__free_result(r);
			sodium_memzero(cpr_buf, sizeof cpr_buf);
			return webd__session_ended(x);
		}
	} else {
		/* The empty form reads nothing, but it is a request in the
		 * session like any page: the hub counts it (and a session the
		 * hub ended sends the caseworker to log in, as every page). */
		wire_result *alive = webd__query(
		    x, UNGEBRO__V1__QUERY_KIND__KEEP_ALIVE, NULL, 0, 0);
		bool ended = webd__unauthenticated(x->w, alive);
		/* Like any page the hub did not answer: 503, said above the
		 * form, which stays to be sent once the hub is back. */
		silent = !alive;
		webd__free_result(alive);
		if (ended)
			return webd__session_ended(x);
	}
	bool unreadable = r && r->code == UNGEBRO__V1__ERROR_CODE__E_MALFORMED;
	web_buf b = {0};
	webd__page_head(x, &b, T(x, T_TIMELINE));
	web_add(&b, "<h1>");
	web_esc(&b, T(x, T_TIMELINE));
	web_add(&b, "</h1><p>");
	web_esc(&b, T(x, T_TIMELINE_HELP));
	web_add(&b, "</p><form method=\"post\" action=\"/timeline\" "
		    "class=\"card\">");
	webd__csrf_field(x, &b);
	web_add(&b, "<label for=\"cpr\">");
	web_esc(&b, T(x, T_CPR));
	web_addf(&b,
		 "</label><input id=\"cpr\" name=\"cpr\" "
		 "inputmode=\"numeric\" autocomplete=\"off\" required%s "
		 "value=\"",
		 unreadable ? " aria-invalid=\"true\" "
			      "aria-describedby=\"cpr-error\""
			    : "");
	web_esc(&b, cpr ? cpr : "");
	web_add(&b, "\"><button type=\"submit\" id=\"show-timeline\">");
	web_esc(&b, T(x, T_SHOW_TIMELINE));
	web_add(&b, "</button></form>");
	unsigned status = 200;
	if (silent) {
		status = 503;
		webd__message(&b, "err", T(x, T_HUB_DOWN), NULL);
	}
	if (cpr) {
		if (!r) {
			status = 503;
			webd__message(&b, "err", T(x, T_HUB_DOWN), NULL);
		} else if (r->code == UNGEBRO__V1__ERROR_CODE__E_DENIED) {
			status = 403;
			webd__message(&b, "err", T(x, T_NOT_YOURS), NULL);
		} else if (unreadable) {
			status = 400;
			web_add(&b, "<div id=\"cpr-error\">");
			webd__message(&b, "err", T(x, cpr_refusal(r->reason)),
				      NULL);
			web_add(&b, "</div>");
		} else if (webd__too_fast(r)) {
			status = 429;
			webd__message(&b, "err", T(x, T_TOO_FAST), NULL);
		} else if (webd__unreadable_store(x, r, "timeline")) {
			status = 503;
			webd__message(&b, "err", T(x, T_STORE_UNREADABLE),
				      NULL);
		} else if (r->code != UNGEBRO__V1__ERROR_CODE__OK) {
			status = 503;
			webd__message(&b, "err", T(x, T_HUB_DOWN), NULL);
		} else {
			web_add(&b, "<h2>");
			web_esc(&b, cpr);
			web_add(&b, "</h2>");
			if (!r->n_timeline)
				webd__message(&b, "msg", T(x, T_NO_ENTRIES),
					      NULL);
			web_add(&b, "<ol class=\"timeline\">");
			timeline_entries(x, &b, r);
			/* The hub answers at most TIMELINE_PAGE entries,
			 * oldest first: the newest, which matter most, come
			 * last. */
			uint32_t offset = 0;
			bool partial = false, limited = false;
			for (int page = 1; page < TIMELINE_PAGES &&
					   r->truncated && r->n_timeline > 0;
			     page++) {
				offset += (uint32_t)r->n_timeline;
				webd__free_result(r);
				r = webd__query(
				    x, UNGEBRO__V1__QUERY_KIND__TIMELINE, cpr,
				    TIMELINE_PAGE, offset);
				if (webd__unauthenticated(x->w, r)) {
					webd__free_result(r);
					web_buf_fini(&b);
					sodium_memzero(cpr_buf,
						       sizeof cpr_buf);
					return webd__session_ended(x);
				}
				if (!r ||
				    r->code != UNGEBRO__V1__ERROR_CODE__OK) {
					/* Refused only for the pace of the
					 * pages: a reload a moment later shows
					 * the rest, which the caseworker must
					 * be told. */
					limited = webd__too_fast(r);
					partial = true;
					break;
				}
				timeline_entries(x, &b, r);
			}
			web_add(&b, "</ol>");
			/* A page said there was more and the next was empty:
			 * the hub orders no more entries per person, and those
			 * left out may be the newest. */
			if (!partial && offset > 0 && r && !r->n_timeline)
				webd__message(&b, "err",
					      T(x, T_TIMELINE_CAPPED), NULL);
			if (partial || (r && r->truncated))
				webd__message(
				    &b, "err",
				    T(x, limited ? T_TIMELINE_PARTIAL_FAST
						 : T_TIMELINE_PARTIAL),
				    NULL);
		}
		webd__free_result(r);
	}
	sodium_memzero(cpr_buf, sizeof cpr_buf);
	webd__page_end(x, &b);
	return webd__send_page(x, status, &b);
}
