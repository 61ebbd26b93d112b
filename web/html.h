/*
 * A growing page buffer for webd's templates. Every value that is not a
 * literal of the template goes through web_esc, which escapes it for HTML
 * text and attribute values alike; web_addf is for literals and numbers.
 * A failed allocation marks the buffer failed, and webd answers 500.
 */
#ifndef UG_WEB_HTML_H
#define UG_WEB_HTML_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
	char *data;
	size_t len, cap;
	bool failed;
} web_buf;

void web_add(web_buf *b, const char *literal);
void web_addf(web_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* HTML-escape text (& < > " ') and append it, each byte that is not part
 * of valid UTF-8 as U+FFFD; NULL appends nothing. */
void web_esc(web_buf *b, const char *text);
/* Take the bytes (malloc'd, NUL-terminated); the buffer is empty after. */
char *web_take(web_buf *b, size_t *len);
void web_buf_fini(web_buf *b);

#endif
