/*
 * The frame every page shares: its head (language, menu, the idle
 * warning), its end and the simple pages built on them.
 */
#include "web/webd_int.h"

/* The hub writes alert titles, explanations and timeline summaries in
 * English whatever the page's language; marking them lets a screen
 * reader read them with an English voice on a Danish page (WCAG 3.1.2). */
const char *
webd__hub_text_lang(const ctx *x)
{
	return x->lang == LANG_EN ? "" : " lang=\"en\"";
}

/* Seconds the session has left as webd sees it (0: ended), and how long
 * before its end a page warns. */
long
webd__idle_left(const webd *w, const web_session *s, long *warn)
{
	int64_t now = ug_mono_ms();
	int64_t left =
	    s->over || s->expired ? 0 : s->idle_ms - (now - s->active);
	long secs = left > 0 ? (long)(left / 1000) : 0;
	/* The page's count reaches 0 at session_lifetime too: staying
	 * logged in cannot stretch a session past it. Rounded up, so that
	 * the page leaves once the session has ended here, and its login
	 * page can say why. */
	int64_t life = w->opts.lifetime_ms - (now - s->born);
	long life_secs = life > 0 ? (long)((life + 999) / 1000) : 0;
	if (life_secs < secs)
		secs = life_secs;
	long lead = w->opts.warning_s;
	if (lead > s->idle_ms / 2000)
		lead = (long)(s->idle_ms / 2000);
	if (warn)
		*warn = lead;
	return secs;
}

/* WCAG 2.2.1: the hub ends a session after web_session_idle without a
 * request, so every page in a session carries a warning live.js shows
 * before that, with one button that keeps the session (POST /session).
 * Hidden until then; without script the page stays as it is. Right after
 * the skip link, so it is early in the Tab order; it takes no focus, or a
 * note being typed would lose its keys to it. */
static void
idle_warning(ctx *x, web_buf *b)
{
	if (!x->s->idle_ms)
		return; /* the hub did not say how long it lasts */
	long warn, left = webd__idle_left(x->w, x->s, &warn);
	/* When session_lifetime ends the session, staying cannot help:
	 * live.js says so instead, and hides the button. */
	int64_t life = x->w->opts.lifetime_ms - (ug_mono_ms() - x->s->born);
	web_addf(b,
		 "<div id=\"session-warning\" class=\"session-warning\" "
		 "hidden data-left=\"%ld\" data-warn=\"%ld\" "
		 "data-final=\"%lld\">"
		 "<p id=\"session-warning-text\" role=\"alert\" "
		 "data-text=\"",
		 left, warn, (long long)(life > 0 ? (life + 999) / 1000 : 0));
	web_esc(b, T(x, T_IDLE_WARNING));
	web_add(b, "\" data-final-text=\"");
	web_esc(b, T(x, T_LIFETIME_WARNING));
	web_add(b, "\"></p><p>");
	web_esc(b, T(x, T_IDLE_LEFT));
	web_add(b, " <span id=\"session-left\" role=\"timer\"></span></p>"
		   "<form method=\"post\" action=\"/session\">"
		   "<input type=\"hidden\" name=\"csrf\" value=\"");
	web_esc(b, x->csrf);
	web_add(b, "\"><button type=\"submit\" id=\"session-extend\">");
	web_esc(b, T(x, T_STAY));
	web_add(b, "</button></form></div><p id=\"session-status\" "
		   "class=\"sr-only\" role=\"status\" data-text=\"");
	web_esc(b, T(x, T_STAYED));
	web_add(b, "\"></p>");
}

/* The language link stays on the page it is on: the same page of the
 * list (?from=), the same message (?msg=, ?ended, ?out), not the first
 * page without it. Only values webd itself writes are kept. */
static void
lang_link_keeps(const ctx *x, web_buf *b)
{
	const char *from =
	    MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "from");
	const char *msg =
	    MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "msg");
	if (from && from[0] && strlen(from) < 8 &&
	    strspn(from, "0123456789") == strlen(from))
		web_addf(b, "from=%s&amp;", from);
	if (msg && (strcmp(msg, "acked") == 0 ||
		    strcmp(msg, "ack-kept") == 0 || strcmp(msg, "saved") == 0))
		web_addf(b, "msg=%s&amp;", msg);
	/* ended=lifetime says why the session ended; the other language
	 * must say the same, not the plain "it has ended". */
	const char *ended =
	    MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "ended");
	if (ended)
		web_addf(b, "ended=%s&amp;",
			 strcmp(ended, "lifetime") == 0 ? "lifetime" : "1");
	if (MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "out"))
		web_add(b, "out=1&amp;");
}

void
webd__page_head(ctx *x, web_buf *b, const char *title)
{
	web_addf(b,
		 "<!DOCTYPE html>\n<html lang=\"%s\"><head>"
		 "<meta charset=\"utf-8\">"
		 "<meta name=\"viewport\" content=\"width=device-width, "
		 "initial-scale=1\"><title>",
		 x->lang == LANG_EN ? "en" : "da");
	web_esc(b, title);
	web_add(b, " – ");
	web_esc(b, T(x, T_APP));
	web_add(b, "</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
		   "</head><body><a class=\"skip\" href=\"#main\">");
	web_esc(b, T(x, T_SKIP));
	web_add(b, "</a>");
	if (x->s)
		idle_warning(x, b);
	web_add(b, "<header><span class=\"brand\">");
	web_esc(b, T(x, T_APP));
	web_add(b, "</span><nav aria-label=\"");
	web_esc(b, T(x, T_NAV));
	web_add(b, "\">");
	if (x->s) {
		web_add(b, "<a href=\"/alerts\">");
		web_esc(b, T(x, T_ALERTS));
		web_add(b, "</a><a href=\"/timeline\">");
		web_esc(b, T(x, T_TIMELINE));
		web_add(b, "</a>");
	}
	/* What answers scripts (JSON, a stream, the list alone, the static
	 * files) is no page to switch language on: a page answering a POST
	 * there (413, 403, 404) links to the list. */
	bool script = x->url && (strcmp(x->url, "/session") == 0 ||
				 strcmp(x->url, "/events") == 0 ||
				 strcmp(x->url, "/alerts/list") == 0 ||
				 strncmp(x->url, "/static/", 8) == 0);
	web_addf(b, "<a href=\"%s?", script ? "/alerts" : "");
	lang_link_keeps(x, b);
	web_addf(b, "lang=%s\" lang=\"%s\">", x->lang == LANG_EN ? "da" : "en",
		 x->lang == LANG_EN ? "da" : "en");
	web_esc(b, T(x, T_OTHER_LANG));
	web_add(b, "</a>");
	if (x->s) {
		web_add(b, "<span class=\"who\">");
		web_esc(b, T(x, T_SIGNED_IN));
		web_add(b, " ");
		web_esc(b, x->s->caseworker);
		web_add(b, "</span><form method=\"post\" action=\"/logout\">"
			   "<input type=\"hidden\" name=\"csrf\" value=\"");
		web_esc(b, x->csrf);
		web_add(b, "\"><button type=\"submit\" id=\"logout\">");
		web_esc(b, T(x, T_LOGOUT));
		web_add(b, "</button></form>");
	}
	web_add(b, "</nav></header><main id=\"main\">");
}

/* live.js (the only script) on every page in a session: the warning
 * before the idle end, and on the list the live updates. */
void
webd__page_end(const ctx *x, web_buf *b)
{
	web_add(b, "</main>");
	if (x->s)
		web_add(b, "<script src=\"/static/live.js\"></script>");
	web_add(b, "</body></html>\n");
}

void
webd__message(web_buf *b, const char *cls, const char *text,
	      const char *detail)
{
	web_addf(b, "<p class=\"%s\" role=\"%s\">", cls,
		 strcmp(cls, "err") == 0 ? "alert" : "status");
	web_esc(b, text);
	if (detail && detail[0]) {
		web_add(b, " ");
		web_esc(b, detail);
	}
	web_add(b, "</p>");
}

enum MHD_Result
webd__simple_page(ctx *x, unsigned status, const char *title, const char *text)
{
	web_buf b = {0};
	webd__page_head(x, &b, title);
	web_add(&b, "<h1>");
	web_esc(&b, title);
	web_add(&b, "</h1>");
	webd__message(&b, "err", text, NULL);
	webd__page_end(x, &b);
	return webd__send_page(x, status, &b);
}
