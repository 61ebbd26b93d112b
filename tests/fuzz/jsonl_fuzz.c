/*
 * libFuzzer target: any bytes as an agency's JSON Lines file, read the
 * way an import reads it: through the converting stream of the file's
 * encoding, line by line with the streaming reader (blank lines, CRLF,
 * lines cut at CSV_RECORD_MAX, reads across its 16 KiB chunks), first to
 * collect the keys the good lines use and map them to every adapter's
 * kinds, then again to check each object's values against a cell's
 * limit, fill each kind's row from it and run its row parser, and for a
 * bad line to name the key it concerns. None may
 * crash, read or write out of bounds, or leak; a bad line is a return
 * code.
 *
 * The first byte is not file content: its low two bits pick the
 * encoding the file is read as (UTF-8, Windows-1252, Latin-1, code page
 * 850), and bit 2 repeats the rest until it is longer than one line may
 * be, which the fuzzer's short inputs could not reach otherwise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/encoding.h"
#include "adapters/jsonl.h"
#include "common/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct adapter_ops *const agencies[] = {
    &school_ops, &college_ops, &addiction_ops, &jobcenter_ops, &youthunit_ops,
};
enum {
	AGENCIES = sizeof agencies / sizeof agencies[0],
	KINDS_MAX = 32,
	KEY_NAME_MAX = 128, /* as the import: longer keys name no column */
	STRETCH = CSV_RECORD_MAX + 20 * 1024,
};

typedef struct {
	const struct adapter_kind *kind;
	int index[ADAPTER_COLUMNS_MAX];
} mapped;

static const enc_kind encodings[] = {ENC_UTF8, ENC_CP1252, ENC_LATIN1,
				     ENC_CP850};

/* The keys the good lines use, each once, as the import's plan keeps
 * them. */
static char key_text[CSV_COLUMNS_MAX][KEY_NAME_MAX + 1];
static const char *keys[CSV_COLUMNS_MAX];
static size_t nkeys;
static adapter_event ev;

/* Each offset of a record must point at a NUL-terminated string inside
 * its text: the reader hands them out unchecked. */
static void
check_string(const jsonl_record *rec, size_t offset)
{
	if (offset >= sizeof rec->text ||
	    !memchr(rec->text + offset, '\0', sizeof rec->text - offset))
		abort();
}

static void
check_record(const jsonl_record *rec, ug_err err)
{
	if (rec->count > JSONL_KEYS_MAX)
		abort();
	for (size_t i = 0; err == UG_OK && i < rec->count; i++) {
		check_string(rec, rec->key[i]);
		check_string(rec, rec->value[i]);
	}
	/* The adapter names a bad key by this index, the one being read
	 * included (rec->count). */
	if (err != UG_OK && rec->bad_key >= 0) {
		if ((size_t)rec->bad_key > rec->count ||
		    rec->bad_key >= JSONL_KEYS_MAX)
			abort();
		check_string(rec, rec->key[rec->bad_key]);
	}
}

static void
add_key(const char *key)
{
	size_t len = strlen(key);
	if (len == 0 || len > KEY_NAME_MAX || nkeys == CSV_COLUMNS_MAX)
		return;
	for (size_t i = 0; i < nkeys; i++)
		if (strcmp(keys[i], key) == 0)
			return;
	memcpy(key_text[nkeys], key, len + 1);
	keys[nkeys] = key_text[nkeys];
	nkeys++;
}

/* One pass over the file; plan: collect keys, else parse rows. */
static void
read_file(const uint8_t *text, size_t len, enc_kind kind, bool plan,
	  const mapped *kinds, size_t nkinds)
{
	FILE *raw = fmemopen((void *)text, len, "r");
	if (!raw)
		return;
	FILE *f = enc_open(raw, kind);
	jsonl_reader *r = NULL;
	if (!f || jsonl_reader_new(&r, f, "fuzz.jsonl") != UG_OK) {
		if (f)
			fclose(f);
		fclose(raw);
		return;
	}
	ug_err err;
	ug_diag diag = {0};
	while ((err = jsonl_next(r, &diag)) != UG_ENOTFOUND && err != UG_EIO) {
		/* The rows are checked against a cell's limit, as the
		 * import checks them; the keys are collected unchecked. */
		if (err == UG_OK && !plan)
			err = jsonl_check_values(r, &diag);
		size_t raw_len;
		bool truncated;
		const char *line = jsonl_raw(r, &raw_len, &truncated);
		if (raw_len > CSV_RECORD_MAX || strlen(line) > raw_len ||
		    jsonl_line(r) < 1)
			abort();
		(void)jsonl_crlf(r);
		const jsonl_record *rec = jsonl_record_of(r);
		check_record(rec, err);
		if (err != UG_OK)
			continue;
		for (size_t i = 0; plan && i < rec->count; i++)
			add_key(jsonl_key(rec, i));
		for (size_t k = 0; !plan && k < nkinds; k++) {
			adapter_row row = {{NULL}};
			for (size_t c = 0; kinds[k].kind->columns[c].name;
			     c++) {
				int at = kinds[k].index[c];
				if (at < 0)
					continue;
				row.field[c] = "";
				for (size_t i = 0; i < rec->count; i++)
					if (strcmp(jsonl_key(rec, i),
						   keys[at]) == 0) {
						row.field[c] =
						    jsonl_value(rec, i);
						break;
					}
			}
			adapter_event_init(&ev);
			ug_diag why = {0};
			(void)kinds[k].kind->parse_row(&row, &ev, &why);
		}
	}
	jsonl_reader_destroy(&r);
	fclose(f);
	fclose(raw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0; /* fmemopen refuses an empty buffer */
	enc_kind kind = encodings[data[0] & 3];
	bool stretch = data[0] & 4;
	data++, size--;
	uint8_t *text = (uint8_t *)data;
	size_t len = size;
	if (stretch) {
		len = STRETCH;
		text = malloc(len);
		if (!text)
			return 0;
		for (size_t at = 0; at < len; at += size)
			memcpy(text + at, data,
			       len - at < size ? len - at : size);
	}

	nkeys = 0;
	read_file(text, len, kind, true, NULL, 0);
	mapped kinds[KINDS_MAX];
	size_t nkinds = 0;
	for (size_t a = 0; a < AGENCIES; a++)
		for (const struct adapter_kind *const *k = agencies[a]->kinds;
		     *k && nkinds < KINDS_MAX; k++) {
			ug_diag diag = {0};
			char unknown[256];
			kinds[nkinds].kind = *k;
			if (csv_map_names(keys, nkeys, (*k)->columns,
					  kinds[nkinds].index, unknown,
					  sizeof unknown, &diag) == UG_OK)
				nkinds++;
		}
	if (nkinds)
		read_file(text, len, kind, false, kinds, nkinds);
	if (stretch)
		free(text);
	return 0;
}
