/*
 * The forms of webd's pages as libmicrohttpd decodes them: fields
 * copied as they arrive, the first of a name counting, a body over its
 * limit refused.
 */
#include "web/webd_int.h"

/* libmicrohttpd's post processor calls this for every piece of every
 * field, url-encoded or multipart, already decoded; off > 0 continues the
 * field begun last. */
enum MHD_Result
webd__form_field(void *cls, enum MHD_ValueKind kind, const char *key,
		 const char *filename, const char *content_type,
		 const char *transfer_encoding, const char *data, uint64_t off,
		 size_t size)
{
	(void)kind;
	(void)filename;
	(void)content_type;
	(void)transfer_encoding;
	form *f = cls;
	size_t i;
	/* A multipart part whose name libmicrohttpd could not read (an
	 * unclosed quote) comes without a key: no field anyone can ask for,
	 * so it is left out, every piece of it. */
	if (!key)
		return MHD_YES;
	if (off == 0) {
		f->skipping = f->n == FIELDS_MAX;
		if (f->skipping)
			return MHD_YES;
		i = f->n;
		f->name[i] = strdup(key);
		f->value[i] = calloc(1, 1);
		f->len[i] = 0;
		if (!f->name[i] || !f->value[i]) {
			free(f->name[i]);
			free(f->value[i]);
			return MHD_NO;
		}
		f->n++;
	} else {
		if (f->skipping || f->n == 0 ||
		    strcmp(f->name[f->n - 1], key) != 0)
			return MHD_YES; /* the start was left out */
		i = f->n - 1;
	}
	if (size == 0)
		return MHD_YES;
	char *grown = malloc(f->len[i] + size + 1);
	if (!grown)
		return MHD_NO;
	/* Copied, not realloc'd, so no piece of a password is left behind
	 * in freed memory. */
	memcpy(grown, f->value[i], f->len[i]);
	memcpy(grown + f->len[i], data, size);
	grown[f->len[i] + size] = '\0';
	sodium_memzero(f->value[i], f->len[i]);
	free(f->value[i]);
	f->value[i] = grown;
	f->len[i] += size;
	return MHD_YES;
}

/* A form holds passwords: wiped as it is freed. */
void
webd__form_free(form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		sodium_memzero(f->value[i], f->len[i]);
		free(f->value[i]);
		free(f->name[i]);
	}
	f->n = 0;
}

/* A body the decoder could not read (malformed, or memory ran out) is
 * read as no form at all: its CSRF check fails, nothing half-read acts. */
void
webd__form_refuse(request *req)
{
	if (req->pp)
		MHD_destroy_post_processor(req->pp);
	req->pp = NULL;
	webd__form_free(&req->f);
}

const char *
webd__form_get(const form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return f->value[i];
	return "";
}

/* The field's value holds a NUL byte (%00): as the C text it is handed
 * on as, it would end there. */
bool
webd__form_has_nul(const form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return strlen(f->value[i]) != f->len[i];
	return false;
}
