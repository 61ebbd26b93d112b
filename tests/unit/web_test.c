/*
 * web/: the page buffer escapes every byte HTML gives a meaning to, in text
 * and in attribute values alike, shows bytes that are not UTF-8 as U+FFFD
 * and leaves the rest as it is; a large page grows without loss; and every
 * label exists in both languages, so no page shows an empty heading or a NULL.
 */
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>

#include "web/html.h"
#include "web/text.h"

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

TEST_LIST = {
    {"escapes what html reads", test_escapes_what_html_reads},
    {"bytes that are not utf8 show as replacement",
     test_bytes_that_are_not_utf8_show_as_replacement},
    {"a large page grows whole", test_a_large_page_grows_whole},
    {"every label in both languages", test_every_label_in_both_languages},
    {NULL, NULL},
};
