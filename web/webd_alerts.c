/*
 * The alert list and an alert's page: its evidence, acknowledging it
 * with a note and recording actions, each asked of the hub.
 */
#include "web/webd_int.h"

static void
day_of(int64_t ms, char out[11])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static bool
is_desk_alert(const ctx *x, const wire_alert *a)
{
	return a->recipient && strcmp(a->recipient, x->s->caseworker) != 0;
}

/* The list itself: what /alerts shows under its heading and what
 * /alerts/list returns for live.js to put in its place. */
static void
alert_list(ctx *x, web_buf *b, const wire_result *r, long from)
{
	if (r->n_alerts == 0 && from == 0)
		webd__message(b, "msg", T(x, T_NO_ALERTS), NULL);
	/* Past the alerts the hub orders the page is empty whether or not
	 * more are open: not "no more", which may be false. */
	if (r->n_alerts == 0 && from > 0) {
		webd__message(b, "msg",
			      T(x, from >= ALERT_PAGE * ALERT_PAGES
				       ? T_LIST_CAPPED
				       : T_NO_MORE),
			      NULL);
		web_add(b, "<p><a href=\"/alerts\">");
		web_esc(b, T(x, T_FIRST_ALERTS));
		web_add(b, "</a></p>");
	}
	web_add(b, "<ol class=\"alerts\">");
	for (size_t i = 0; i < r->n_alerts; i++) {
		const wire_alert *a = r->alerts[i];
		char hexid[2 * WIRE_ALERT_ID_LEN + 1] = "";
		if (a->alert_id.len == WIRE_ALERT_ID_LEN)
			ug_hex(a->alert_id.data, WIRE_ALERT_ID_LEN, hexid);
		char raised[11];
		day_of(a->raised_at, raised);
		web_addf(b, "<li class=\"p%d\"><span class=\"badge\">",
			 (int)a->priority);
		web_esc(b, web_priority(x->lang, a->priority));
		web_add(b, "</span> <a class=\"alert-link\" href=\"/alert/");
		web_esc(b, hexid);
		web_addf(b, "\"%s>", webd__hub_text_lang(x));
		web_esc(b, a->title);
		web_add(b, "</a><div class=\"meta\">");
		web_esc(b, T(x, T_DUE));
		web_add(b, " <strong>");
		web_esc(b, a->due && a->due[0] ? a->due : "-");
		web_add(b, "</strong> · ");
		web_esc(b, T(x, T_RAISED));
		web_add(b, " ");
		web_esc(b, raised);
		web_add(b, " · ");
		web_esc(b, a->rule);
		if (is_desk_alert(x, a)) {
			web_add(b, " · <span class=\"desk\">");
			web_esc(b, T(x, T_DESK_ALERT));
			web_add(b, "</span>");
		}
		web_add(b, "</div></li>");
	}
	web_add(b, "</ol>");
	/* The hub orders no more than ALERT_PAGES pages: a link past them
	 * would lead to an empty page while alerts remain. */
	size_t next = (size_t)from + r->n_alerts;
	if (r->truncated && next < ALERT_PAGE * ALERT_PAGES)
		web_addf(b, "<p><a href=\"/alerts?from=%zu\">%s</a></p>", next,
			 T(x, T_MORE));
	else if (r->truncated)
		webd__message(b, "msg", T(x, T_LIST_CAPPED), NULL);
}

/* /alerts, or with `fragment` /alerts/list: only the list, for live.js
 * (401 when the session has ended, so the script leaves the page be). */
enum MHD_Result
webd__alerts_page(ctx *x, const char *from_text, const char *msg,
		  bool fragment)
{
	/* Only webd writes `from`: anything but a whole number within the
	 * alerts the hub orders (a typed "50abc", "1e3") is the first page,
	 * not a page starting wherever its digits happen to point. */
	long from = 0;
	if (!from_text ||
	    ug_parse_long(from_text, strlen(from_text), &from) != UG_OK ||
	    from < 0 || from > ALERT_PAGE * ALERT_PAGES)
		from = 0;
	/* Only live.js asks for the list alone, after an event: nobody
	 * may be at the screen. */
	x->background = fragment;
	wire_result *r = webd__query(x, UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS,
				     NULL, ALERT_PAGE, (uint32_t)from);
	bool ended = webd__unauthenticated(x->w, r);
	if (ended || !r || r->code != UNGEBRO__V1__ERROR_CODE__OK) {
		unsigned status = ended ? 401 : webd__too_fast(r) ? 429 : 503;
		enum MHD_Result rc =
		    fragment ? webd__send_response(x, status,
						   webd__empty_response(),
						   "text/plain; charset=utf-8")
		    : ended
			? webd__session_ended(x)
			: webd__query_failed(x, r, T(x, T_ALERTS), "alerts");
		webd__free_result(r);
		return rc;
	}
	web_buf b = {0};
	if (fragment) {
		alert_list(x, &b, r, from);
		webd__free_result(r);
		return webd__send_page(x, 200, &b);
	}
	webd__page_head(x, &b, T(x, T_ALERTS));
	web_add(&b, "<h1>");
	web_esc(&b, T(x, T_ALERTS));
	web_add(&b, "</h1>");
	if (msg && strcmp(msg, "acked") == 0)
		webd__message(&b, "msg", T(x, T_ACKED), NULL);
	else if (msg && strcmp(msg, "ack-kept") == 0)
		webd__message(&b, "msg", T(x, T_ACK_KEPT), NULL);
	/* live.js (the only script, at the end of every page in a
	 * session) replaces the list when /events says
	 * it changed, and says so in the polite live region. The stream
	 * opens after the page was served: it watches from the count of the
	 * list shown, or an alert raised in between would never appear. */
	web_addf(&b,
		 "<div id=\"alert-list\" data-src=\"/alerts/list?from=%ld\" "
		 "data-events=\"/events?since=%llu\">",
		 from, (unsigned long long)r->alerts_version);
	alert_list(x, &b, r, from);
	web_add(&b, "</div><p id=\"live-status\" class=\"sr-only\" "
		    "role=\"status\" aria-live=\"polite\" data-updated=\"");
	web_esc(&b, T(x, T_LIVE_UPDATED));
	web_add(&b, "\"></p>");
	webd__free_result(r);
	webd__page_end(x, &b);
	return webd__send_page(x, 200, &b);
}

/* The open alert with this id, asked of the hub alone, so that only the
 * alert shown is recorded as shown; *out holds the answer (free it).
 * NULL: not open for them (*no_one: theirs, and it names no one), or
 * *failed holds the answer of the query that failed (NULL: none came;
 * free it). *ended: the session has ended. */
static const wire_alert *
find_alert(ctx *x, const uint8_t *id, wire_result **out, bool *ended,
	   bool *down, bool *no_one, wire_result **failed)
{
	*out = *failed = NULL;
	*ended = *down = *no_one = false;
	wire_result *r = webd__query_of(
	    x, UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS, NULL, 1, 0, id);
	if (webd__unauthenticated(x->w, r)) {
		*ended = true;
		webd__free_result(r);
		return NULL;
	}
	if (!r || r->code != UNGEBRO__V1__ERROR_CODE__OK) {
		*down = true;
		*failed = r;
		return NULL;
	}
	*out = r;
	for (size_t i = 0; i < r->n_alerts; i++)
		if (r->alerts[i]->alert_id.len == WIRE_ALERT_ID_LEN &&
		    memcmp(r->alerts[i]->alert_id.data, id,
			   WIRE_ALERT_ID_LEN) == 0)
			return r->alerts[i];
	*no_one = r->names_no_one;
	return NULL;
}

void
webd__csrf_field(ctx *x, web_buf *b)
{
	web_add(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	web_esc(b, x->csrf);
	web_add(b, "\">");
}

static void
evidence_table(ctx *x, web_buf *b, const wire_alert *a)
{
	web_add(b, "<section aria-labelledby=\"ev\"><h2 id=\"ev\">");
	web_esc(b, T(x, T_EVIDENCE));
	web_add(b, "</h2><div class=\"scroll\"><table class=\"evidence\">"
		   "<thead><tr><th scope=\"col\">");
	web_esc(b, T(x, T_WHAT));
	web_add(b, "</th><th scope=\"col\">");
	web_esc(b, T(x, T_AGENCY));
	web_add(b, "</th><th scope=\"col\">");
	web_esc(b, T(x, T_WHEN));
	web_add(b, "</th><th scope=\"col\">");
	web_esc(b, T(x, T_FIGURES));
	web_add(b, "</th></tr></thead><tbody>");
	for (size_t i = 0; i < a->n_evidence; i++) {
		const Ungebro__V1__Evidence *e = a->evidence[i];
		web_add(b, "<tr><td>");
		web_esc(b, web_event_type(x->lang, e->type));
		web_add(b, "</td><td>");
		web_esc(b, e->agency);
		web_add(b, "</td><td>");
		web_esc(b, e->period_start);
		if (e->period_end && e->period_end[0] &&
		    strcmp(e->period_end,
			   e->period_start ? e->period_start : "") != 0) {
			web_add(b, " – ");
			web_esc(b, e->period_end);
		}
		web_add(b, "</td><td>");
		if (e->lessons_expected > 0) {
			char figures[96];
			snprintf(figures, sizeof figures, T(x, T_LESSONS_OF),
				 e->lessons_absent, e->lessons_expected);
			web_esc(b, figures);
		} else {
			web_add(b, "-");
		}
		web_add(b, "</td></tr>");
	}
	web_add(b, "</tbody></table></div></section>");
}

static void
timeline_button(ctx *x, web_buf *b, const char *cpr)
{
	web_add(b, "<form method=\"post\" action=\"/timeline\">");
	webd__csrf_field(x, b);
	web_add(b, "<input type=\"hidden\" name=\"cpr\" value=\"");
	web_esc(b, cpr);
	web_add(b, "\"><button type=\"submit\" id=\"show-timeline\">");
	web_esc(b, T(x, T_SHOW_TIMELINE));
	web_add(b, "</button></form>");
}

/* kept: a refused action's form, shown again so that nothing typed is
 * lost (NULL: an empty form). */
/* For the field the hub refused: says it is wrong and where the reason
 * is, for a screen reader (WCAG 3.3.1). */
static const char *
invalid(const ctx *x, const char *field)
{
	return x->bad_field && strcmp(x->bad_field, field) == 0
		   ? " aria-invalid=\"true\" aria-describedby=\"action-error\""
		   : "";
}

static void
record_form(ctx *x, web_buf *b, const char *hexid, const form *kept)
{
	const char *chosen = kept ? webd__form_get(kept, "kind") : "";
	web_add(b, "<section aria-labelledby=\"rec\"><h2 id=\"rec\">");
	web_esc(b, T(x, T_RECORD));
	web_add(b, "</h2><form method=\"post\" action=\"/alert/");
	web_esc(b, hexid);
	web_add(b, "/action\">");
	webd__csrf_field(x, b);
	web_add(b, "<fieldset><legend>");
	web_esc(b, T(x, T_KIND));
	web_add(b, "</legend>");
	static const struct {
		const char *value;
		enum web_text label;
	} kinds[] = {{"contact", T_CONTACT},
		     {"offer", T_OFFER},
		     {"unreachable", T_UNREACHABLE}};
	/* Nothing is chosen until the caseworker chooses: a contact made
	 * meets a legal deadline, so it is never recorded by default. */
	for (size_t i = 0; i < 3; i++) {
		web_addf(b,
			 "<div class=\"choice\"><input type=\"radio\" "
			 "name=\"kind\" id=\"kind-%s\" value=\"%s\"%s "
			 "required><label for=\"kind-%s\">",
			 kinds[i].value, kinds[i].value,
			 strcmp(chosen, kinds[i].value) == 0 ? " checked" : "",
			 kinds[i].value);
		web_esc(b, T(x, kinds[i].label));
		web_add(b, "</label></div>");
	}
	/* No maxlength on how and note: it counts characters where the
	 * hub's limits are bytes (æ, ø, å take two), and a browser cuts
	 * typed or pasted text at it without a word, so a record would be
	 * saved cut short. The hub refuses what is too long, and the page
	 * comes back with its reason and the text as typed. */
	web_add(b, "</fieldset><label for=\"how\">");
	web_esc(b, T(x, T_HOW));
	web_addf(b,
		 "</label><input id=\"how\" name=\"how\" "
		 "required%s value=\"",
		 invalid(x, "how"));
	web_esc(b, kept ? webd__form_get(kept, "how") : "");
	web_add(b, "\"><label for=\"date\">");
	web_esc(b, T(x, T_DATE));
	web_addf(b,
		 "</label><input id=\"date\" name=\"date\"%s "
		 "pattern=\"[0-9]{4}-[0-9]{2}-[0-9]{2}\" placeholder=\"",
		 invalid(x, "date"));
	web_esc(b, T(x, T_DATE_FORMAT));
	web_add(b, "\" value=\"");
	web_esc(b, kept ? webd__form_get(kept, "date") : "");
	web_add(b, "\"><label for=\"action-note\">");
	web_esc(b, T(x, T_NOTE));
	web_addf(b,
		 "</label><input id=\"action-note\" name=\"note\"%s "
		 "value=\"",
		 invalid(x, "action-note"));
	web_esc(b, kept ? webd__form_get(kept, "note") : "");
	web_add(b, "\"><button type=\"submit\" id=\"save-action\">");
	web_esc(b, T(x, T_SAVE));
	web_add(b, "</button></form></section>");
}

/* bad_note: the note was refused (too long); a screen reader is told
 * the field is wrong and where the reason is (WCAG 3.3.1). */
static void
ack_form(ctx *x, web_buf *b, const char *hexid, const char *note,
	 bool bad_note)
{
	web_add(b, "<section aria-labelledby=\"ackh\"><h2 id=\"ackh\">");
	web_esc(b, T(x, T_ACK));
	web_add(b, "</h2><p>");
	web_esc(b, T(x, T_ACK_HELP));
	web_add(b, "</p><form method=\"post\" action=\"/alert/");
	web_esc(b, hexid);
	web_add(b, "/ack\">");
	webd__csrf_field(x, b);
	web_add(b, "<label for=\"ack-note\">");
	web_esc(b, T(x, T_ACK_NOTE));
	/* No maxlength, as on the action's note: it counts characters, and
	 * the hub would cut a Danish note past 200 bytes without a word;
	 * do_ack refuses it with its reason instead. */
	web_addf(b,
		 "</label><input id=\"ack-note\" name=\"note\"%s "
		 "value=\"",
		 bad_note ? " aria-invalid=\"true\" "
			    "aria-describedby=\"ack-error\""
			  : "");
	web_esc(b, note ? note : "");
	web_add(b, "\"><button type=\"submit\" id=\"ack\">");
	web_esc(b, T(x, T_ACK));
	web_add(b, "</button></form></section>");
}

/* record: the form to record what was done, which only an alert about a
 * person takes (the hub refuses it for an operational alert or a health
 * alert's escalation notice, which name nobody). */
static void
action_forms(ctx *x, web_buf *b, const char *hexid, const form *kept,
	     bool record, bool ack)
{
	if (record)
		record_form(x, b, hexid, kept);
	if (ack)
		ack_form(x, b, hexid, NULL, false);
}

/* An action not saved whose alert's page cannot be shown either (hubd did
 * not answer, or its store cannot be read now): what was typed (a note,
 * often) must not be lost, so the form comes back as sent, to save again,
 * under why it was not saved. */
static enum MHD_Result
action_without_alert(ctx *x, const char *hexid, const form *f, const char *why,
		     unsigned status)
{
	web_buf b = {0};
	webd__page_head(x, &b, T(x, T_ALERT));
	web_add(&b, "<p><a href=\"/alerts\">← ");
	web_esc(&b, T(x, T_ALERTS));
	web_add(&b, "</a></p><div id=\"action-error\">");
	webd__message(&b, "err", T(x, T_ACTION_REFUSED), why);
	web_add(&b, "</div><h1>");
	web_esc(&b, T(x, T_ALERT));
	web_add(&b, "</h1>");
	record_form(x, &b, hexid, f);
	webd__page_end(x, &b);
	return webd__send_page(x, status, &b);
}

/* error: why an action was refused, shown above the alert with its form
 * as sent (kept) and answered with status. */
enum MHD_Result
webd__alert_page(ctx *x, const char *hexid, const char *msg, const char *error,
		 unsigned status, const form *kept)
{
	uint8_t id[WIRE_ALERT_ID_LEN];
	if (!webd__unhex(hexid, id, sizeof id))
		return webd__simple_page(x, 404, T(x, T_ALERT),
					 T(x, T_NOT_FOUND));
	wire_result *page = NULL, *failed;
	bool ended, down, no_one;
	const wire_alert *a =
	    find_alert(x, id, &page, &ended, &down, &no_one, &failed);
	if (ended)
		return webd__session_ended(x);
	/* The action's page: the alert's facts could not be asked for, but
	 * why the action was not saved, and what was typed, still can be. */
	if (down && kept && error) {
		webd__free_result(failed);
		return action_without_alert(x, hexid, kept, error, status);
	}
	if (down) {
		enum MHD_Result rc =
		    webd__query_failed(x, failed, T(x, T_ALERT), "alert");
		webd__free_result(failed);
		return rc;
	}
	web_buf b = {0};
	webd__page_head(x, &b, a ? a->title : T(x, T_ALERT));
	web_add(&b, "<p><a href=\"/alerts\">← ");
	web_esc(&b, T(x, T_ALERTS));
	web_add(&b, "</a></p>");
	if (msg && strcmp(msg, "saved") == 0)
		webd__message(&b, "msg", T(x, T_SAVED), NULL);
	if (error) {
		web_add(&b, "<div id=\"action-error\">");
		webd__message(&b, "err", T(x, T_ACTION_REFUSED), error);
		web_add(&b, "</div>");
	}
	if (!a) {
		web_add(&b, "<h1>");
		web_esc(&b, T(x, T_ALERT));
		web_add(&b, "</h1>");
		webd__message(&b, "err", T(x, T_NOT_OPEN), NULL);
		/* What was done is often recorded after the acknowledgement,
		 * and the hub takes it for an acknowledged alert too; it
		 * refuses one that is not the caseworker's, and one that
		 * names no one, whose form is not offered. Which of the two
		 * a closed alert is, the hub says only by refusing (of
		 * another's alert it tells nothing, not even that it
		 * exists): once it has (403), the form and its invitation
		 * would only be refused again. */
		bool record = !no_one && !(error && status == 403);
		if (record) {
			web_add(&b, "<p>");
			web_esc(&b, T(x, T_RECORD_LATER));
			web_add(&b, "</p>");
		}
		action_forms(x, &b, hexid, kept, record, false);
		webd__free_result(page);
		webd__page_end(x, &b);
		return webd__send_page(x, error ? status : 404, &b);
	}
	char raised[11];
	day_of(a->raised_at, raised);
	web_addf(&b, "<h1 class=\"p%d\"%s>", (int)a->priority,
		 webd__hub_text_lang(x));
	web_esc(&b, a->title);
	web_add(&b, "</h1><dl class=\"facts\"><dt>");
	web_esc(&b, T(x, T_PRIORITY));
	web_add(&b, "</dt><dd>");
	web_esc(&b, web_priority(x->lang, a->priority));
	web_add(&b, "</dd><dt>");
	web_esc(&b, T(x, T_RULE));
	web_add(&b, "</dt><dd id=\"rule\">");
	web_esc(&b, a->rule);
	web_add(&b, "</dd><dt>");
	web_esc(&b, T(x, T_PERSON));
	web_add(&b, "</dt><dd id=\"cpr\">");
	web_esc(&b, a->cpr && a->cpr[0] ? a->cpr : "-");
	web_add(&b, "</dd><dt>");
	web_esc(&b, T(x, T_FOR));
	web_add(&b, "</dt><dd>");
	web_esc(&b, is_desk_alert(x, a) ? T(x, T_DESK) : a->recipient);
	web_add(&b, "</dd><dt>");
	web_esc(&b, T(x, T_RAISED));
	web_add(&b, "</dt><dd>");
	web_esc(&b, raised);
	web_add(&b, "</dd><dt>");
	web_esc(&b, T(x, T_EXPECTED));
	web_add(&b, "</dt><dd id=\"due\"><strong>");
	web_esc(&b, a->due && a->due[0] ? a->due : "-");
	web_add(&b, "</strong></dd></dl>");
	web_add(&b, "<section aria-labelledby=\"why\"><h2 id=\"why\">");
	web_esc(&b, T(x, T_WHY));
	web_addf(&b, "</h2><p class=\"explain\" id=\"explanation\"%s>",
		 webd__hub_text_lang(x));
	web_esc(&b, a->explanation);
	web_add(&b, "</p></section>");
	if (a->n_evidence)
		evidence_table(x, &b, a);
	if (a->cpr && a->cpr[0])
		timeline_button(x, &b, a->cpr);
	action_forms(x, &b, hexid, kept, a->cpr && a->cpr[0], true);
	webd__free_result(page);
	webd__page_end(x, &b);
	return webd__send_page(x, status, &b);
}

/* An acknowledgement not stored is the caseworker's to give again: its
 * form, the note as typed, under why (and detail), without the alert's
 * facts (the hub that did not store it may not answer for them either). */
static enum MHD_Result
ack_again(ctx *x, const char *hexid, const form *f, enum web_text why,
	  const char *detail, unsigned status)
{
	web_buf b = {0};
	webd__page_head(x, &b, T(x, T_ALERT));
	web_add(&b, "<p><a href=\"/alerts\">← ");
	web_esc(&b, T(x, T_ALERTS));
	web_add(&b, "</a></p><h1>");
	web_esc(&b, T(x, T_ALERT));
	web_add(&b, "</h1>");
	/* Only a refused note is the field's fault; the other reasons are
	 * the hub's, and the note is fine as it is. */
	bool bad_note = why == T_ACK_REFUSED;
	web_add(&b, "<div id=\"ack-error\">");
	webd__message(&b, "err", T(x, why), detail);
	web_add(&b, "</div>");
	ack_form(x, &b, hexid,
		 webd__form_has_nul(f, "note") ? ""
					       : webd__form_get(f, "note"),
		 bad_note);
	webd__page_end(x, &b);
	return webd__send_page(x, status, &b);
}

enum MHD_Result
webd__do_ack(ctx *x, const char *hexid, const form *f)
{
	uint8_t id[WIRE_ALERT_ID_LEN];
	if (!webd__unhex(hexid, id, sizeof id))
		return webd__simple_page(x, 404, T(x, T_ALERT),
					 T(x, T_NOT_FOUND));
	wire_alert_ack ack = UNGEBRO__V1__ALERT_ACK__INIT;
	ack.request_id = hubconn_next_id(x->w->opts.hub);
	ack.alert_id.data = id;
	ack.alert_id.len = sizeof id;
	/* Sent on as text, a note would end at a NUL byte (%00) and say
	 * less than was written while looking whole: not kept, as the hub
	 * keeps no such note; the acknowledgement is. */
	ack.note = webd__form_has_nul(f, "note")
		       ? ""
		       : (char *)webd__form_get(f, "note");
	/* The hub keeps a note's first 200 bytes: one typed longer (æ, ø
	 * and å take two) would be kept cut short while the page said
	 * acknowledged. Nothing is sent; the note comes back as typed. */
	if (strlen(ack.note) > WEB_ACK_NOTE_MAX)
		return ack_again(x, hexid, f, T_ACK_REFUSED,
				 web_action_reason(
				     x->lang, "note is longer than 200 bytes"),
				 400);
	ack.session.data = x->s->token;
	ack.session.len = TOKEN_LEN;
	wire_result *r = webd__ask(x, UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK,
				   &ack, ack.request_id);
	if (webd__unauthenticated(x->w, r)) {
		webd__free_result(r);
		return webd__session_ended(x);
	}
	int code = r ? (int)r->code : -1;
	webd__free_result(r);
	if (code == UNGEBRO__V1__ERROR_CODE__OK)
		return webd__redirect(x, "/alerts?msg=acked", NULL);
	/* The hub keeps it and stores it itself: nothing to do again, but
	 * the caseworker must not read "acknowledged" yet. */
	if (code == UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE)
		return webd__redirect(x, "/alerts?msg=ack-kept", NULL);
	if (code < 0)
		return ack_again(x, hexid, f, T_HUB_DOWN, NULL, 503);
	/* Not kept: only the caseworker can send it again. */
	if (code == UNGEBRO__V1__ERROR_CODE__E_FULL)
		return ack_again(x, hexid, f, T_ACK_NOT_KEPT, NULL, 503);
	/* Most often a desk colleague acknowledged it first, while this page
	 * was open: the alert's page says it is no longer open and still
	 * takes what this caseworker did about it. */
	if (code == UNGEBRO__V1__ERROR_CODE__E_DENIED)
		return webd__alert_page(x, hexid, NULL, NULL, 404, NULL);
	return webd__simple_page(x, 503, T(x, T_ALERT), T(x, T_HUB_DOWN));
}

/* An action with a wrong field (the hub's reason, which names the field:
 * "how must say how ..."): the alert's page again, 400, the reason in the
 * page's language and the field marked, the form as it was sent. */
static enum MHD_Result
action_refused(ctx *x, const char *hexid, const form *f, const char *reason)
{
	const char *said = web_action_reason(x->lang, reason);
	static const char *const fields[][2] = {
	    {"how ", "how"}, {"date ", "date"}, {"note ", "action-note"}};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (strncmp(reason, fields[i][0], strlen(fields[i][0])) == 0)
			x->bad_field = fields[i][1];
	return webd__alert_page(x, hexid, NULL, said ? said : reason, 400, f);
}

enum MHD_Result
webd__do_action(ctx *x, const char *hexid, const form *f)
{
	uint8_t id[WIRE_ALERT_ID_LEN];
	if (!webd__unhex(hexid, id, sizeof id))
		return webd__simple_page(x, 404, T(x, T_ALERT),
					 T(x, T_NOT_FOUND));
	/* Sent on as text, a field would end at a NUL byte (%00) and what
	 * came before it would be saved as all that was typed; the hub
	 * refuses such a field, so it is refused here with the hub's reason
	 * (a date with one is no date). */
	static const char *const cut[][2] = {
	    {"date", "date must be the day it was done, YYYY-MM-DD"},
	    {"how", "how contains a NUL byte"},
	    {"note", "note contains a NUL byte"}};
	for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++)
		if (webd__form_has_nul(f, cut[i][0]))
			return action_refused(x, hexid, f, cut[i][1]);
	const char *kind = webd__form_get(f, "kind");
	wire_action a = UNGEBRO__V1__ACTION__INIT;
	a.request_id = hubconn_next_id(x->w->opts.hub);
	a.alert_id.data = id;
	a.alert_id.len = sizeof id;
	a.kind = strcmp(kind, "contact") == 0
		     ? UNGEBRO__V1__ACTION_KIND__CONTACT_MADE
		 : strcmp(kind, "offer") == 0
		     ? UNGEBRO__V1__ACTION_KIND__OFFER_MADE
		 : strcmp(kind, "unreachable") == 0
		     ? UNGEBRO__V1__ACTION_KIND__COULD_NOT_REACH
		     : UNGEBRO__V1__ACTION_KIND__ACTION_KIND_UNSPECIFIED;
	a.date = (char *)webd__form_get(f, "date");
	a.how = (char *)webd__form_get(f, "how");
	a.note = (char *)webd__form_get(f, "note");
	a.session.data = x->s->token;
	a.session.len = TOKEN_LEN;
	wire_result *r = webd__ask(x, UNGEBRO__V1__FRAME_KIND__FRAME_ACTION,
				   &a, a.request_id);
	if (webd__unauthenticated(x->w, r)) {
		webd__free_result(r);
		return webd__session_ended(x);
	}
	if (!r)
		return action_without_alert(x, hexid, f, T(x, T_HUB_DOWN),
					    503);
	if (r->code == UNGEBRO__V1__ERROR_CODE__OK) {
		webd__free_result(r);
		char where[64];
		snprintf(where, sizeof where, "/alert/%s?msg=saved", hexid);
		return webd__redirect(x, where, NULL);
	}
	if (r->code == UNGEBRO__V1__ERROR_CODE__E_MALFORMED) {
		char said[256];
		ug_strlcpy(said, r->reason ? r->reason : "", sizeof said);
		webd__free_result(r);
		return action_refused(x, hexid, f, said);
	}
	unsigned status = 503;
	enum web_text reason = T_ACTION_LATER;
	if (r->code == UNGEBRO__V1__ERROR_CODE__E_DENIED) {
		reason = T_ACTION_DENIED;
		status = 403;
	}
	/* The hub answers both a full store and one action too many with
	 * E_UNAVAILABLE; only its reason (PROTOCOL.md) tells that waiting a
	 * moment is what helps. */
	if (r->code == UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE && r->reason &&
	    strncmp(r->reason, "too many actions", 16) == 0) {
		reason = T_ACTION_TOO_FAST;
		status = 429;
	}
	webd__free_result(r);
	return webd__alert_page(x, hexid, NULL, T(x, reason), status, f);
}
