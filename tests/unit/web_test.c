/*
 * web/: the page buffer escapes every byte HTML gives a meaning to, in text
 * and in attribute values alike, shows bytes that are not UTF-8 as U+FFFD
 * and leaves the rest as it is; a large page grows without loss; and every
 * label exists in both languages, so no page shows an empty heading or a NULL.
 */
#include "tests/unit/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "web/html.h"
#include "web/text.h"
#include "web/webd.h"

static void
test_escapes_what_html_reads(void)
{
	web_buf b = {0};
	web_add(&b, "<p title=\"");
	web_esc(&b, "a\"b'c<d>e&f");
	web_add(&b, "\">");
	web_esc(&b, "<script>alert('x')</script> Søren & Æbelø");
	web_esc(&b, NULL);
	size_t len;
	char *page = web_take(&b, &len);
	CHECK(page != NULL);
	CHECK_EQ_STR(page, "<p title=\"a&quot;b&#39;c&lt;d&gt;e&amp;f\">"
			   "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; "
			   "Søren &amp; Æbelø");
	CHECK_EQ_INT(len, strlen(page));
	free(page);
	web_buf_fini(&b);
}

/* A page is UTF-8: bytes a client sent in another encoding (Latin-1's
 * "ø", a lead byte without its tail, an overlong form, a surrogate) are
 * shown as U+FFFD, each byte once, and valid text around them is kept. */
static void
test_bytes_that_are_not_utf8_show_as_replacement(void)
{
	web_buf b = {0};
	web_esc(&b, "m\xf8"
		    "de|\xc3|\xc0\xaf|\xed\xa0\x80|\xe2\x82");
	web_esc(&b, "|s\xc3\xb8|\xf0\x9f\x98\x80");
	size_t len;
	char *page = web_take(&b, &len);
	CHECK(page != NULL);
#define R "\xef\xbf\xbd" /* U+FFFD */
	CHECK_EQ_STR(page, "m" R "de|" R "|" R R "|" R R R "|" R R
			   "|s\xc3\xb8|\xf0\x9f\x98\x80");
#undef R
	free(page);
}

static void
test_a_large_page_grows_whole(void)
{
	web_buf b = {0};
	for (int i = 0; i < 10000; i++)
		web_addf(&b, "<li>%05d</li>", i);
	CHECK(!b.failed);
	size_t len;
	char *page = web_take(&b, &len);
	CHECK(page != NULL);
	CHECK_EQ_INT(len, 10000 * strlen("<li>00000</li>"));
	CHECK(strstr(page, "<li>09999</li>") == page + len - 14);
	free(page);
	web_buf_fini(&b);
}

static void
test_every_label_in_both_languages(void)
{
	for (int t = 0; t < T_COUNT; t++) {
		const char *da = web_text(LANG_DA, (enum web_text)t);
		const char *en = web_text(LANG_EN, (enum web_text)t);
		CHECK(da != NULL && en != NULL);
		CHECK(da[0] != '\0' && en[0] != '\0');
	}
	for (int p = 1; p <= 4; p++) {
		CHECK(web_priority(LANG_DA, p)[0] != '\0');
		CHECK(web_priority(LANG_EN, p)[0] != '\0');
	}
}

static void
mhd_says(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	webd_mhd_log(NULL, fmt, ap);
	va_end(ap);
}

/* What libmicrohttpd logs quotes the request's path: a CPR in it is
 * masked in webd's log wherever it falls in the message, here across the
 * 512th byte, where webd once cut the message before the log masked it
 * and so kept the number's first digits (SECURITY.md, "Log lines"). */
static void
test_a_cpr_in_a_long_path_is_masked_in_the_log(void)
{
	static const char how[] = "Failed to send the response headers for "
				  "the request for `%s'. Error: %s\n";
	const char *cpr = "1703117105"; /* synthetic: 17 March 1911 */
	char url[700];
	size_t at = 0;
	url[at++] = '/';
	/* The CPR from byte 505 of the message, through byte 511. */
	while (at < 504 - (strlen("Failed to send the response headers for "
				  "the request for `")))
		url[at++] = 'a';
	url[at++] = '/';
	memcpy(url + at, cpr, 10);
	at += 10;
	memcpy(url + at, "/b", 3);
	FILE *out = tmpfile();
	CHECK(out != NULL);
	fflush(stderr);
	int saved = dup(2);
	dup2(fileno(out), 2);
	mhd_says(how, url, "Broken pipe");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char line[4096] = {0};
	rewind(out);
	size_t n = fread(line, 1, sizeof line - 1, out);
	fclose(out);
	CHECK(n > 500);
	CHECK(strstr(line, "WEB-HTTP Failed to send the response headers") !=
	      NULL);
	CHECK(strstr(line, "xxxxxxxxxx/b'. Error: Broken pipe") != NULL);
	/* Not even the birth date of it. */
	CHECK(strstr(line, "170311") == NULL);
	CHECK_EQ_INT(strchr(line, '\n') - line, (long)n - 1);
}

TEST_LIST = {
    {"escapes what html reads", test_escapes_what_html_reads},
    {"bytes that are not utf8 show as replacement",
     test_bytes_that_are_not_utf8_show_as_replacement},
    {"a large page grows whole", test_a_large_page_grows_whole},
    {"every label in both languages", test_every_label_in_both_languages},
    {"a cpr in a long path is masked in the log",
     test_a_cpr_in_a_long_path_is_masked_in_the_log},
    {NULL, NULL},
};
