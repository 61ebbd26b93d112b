/* The page buffer; see html.h. */
#include "web/html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static bool
reserve(web_buf *b, size_t more)
{
	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *data = realloc(b->data, cap);
	if (!data) {
		b->failed = true;
		return false;
	}
	b->data = data;
	b->cap = cap;
	return true;
}

static void
append(web_buf *b, const char *bytes, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, bytes, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
web_add(web_buf *b, const char *literal)
{
	append(b, literal, strlen(literal));
}

void
web_addf(web_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Bytes of the UTF-8 sequence a lead byte starts (1 for any other). */
static size_t
sequence_len(unsigned char c)
{
	return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

void
web_esc(web_buf *b, const char *text)
{
	for (const char *p = text ? text : ""; *p; p++) {
		/* A page is declared UTF-8: what a client sent in another
		 * encoding, shown back in its form, must not make it less. */
		if ((unsigned char)*p >= 0x80) {
			size_t n = sequence_len((unsigned char)*p);
			if (strnlen(p, n) == n && ug_utf8_valid(p, n)) {
				append(b, p, n);
				p += n - 1;
			} else {
				web_add(b, "\xEF\xBF\xBD"); /* U+FFFD */
			}
			continue;
		}
		switch (*p) {
		case '&':
			web_add(b, "&amp;");
			break;
		case '<':
			web_add(b, "&lt;");
			break;
		case '>':
			web_add(b, "&gt;");
			break;
		case '"':
			web_add(b, "&quot;");
			break;
		case '\'':
			web_add(b, "&#39;");
			break;
		default:
			append(b, p, 1);
		}
	}
}

char *
web_take(web_buf *b, size_t *len)
{
	if (!reserve(b, 0)) {
		web_buf_fini(b);
		return NULL;
	}
	char *data = b->data;
	*len = b->len;
	*b = (web_buf){0};
	return data;
}

void
web_buf_fini(web_buf *b)
{
	free(b->data);
	*b = (web_buf){0};
}
