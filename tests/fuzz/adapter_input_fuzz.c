/*
 * libFuzzer target: any bytes through the adapter runtime's input side,
 * as one line of an agency's file: the JSON Lines object parser, the
 * encoding scan and the Windows-1252 and code page 850 conversions,
 * and the value parsers every parse_row uses (dates, whole numbers, CPR
 * numbers, words). None may crash, read or write out of bounds, or
 * leak; bad input is a return code. A whole JSON Lines file, read as an
 * import reads it, is jsonl_fuzz.c's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/encoding.h"
#include "adapters/jsonl.h"
#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static jsonl_record rec;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ug_diag diag = {0};
	if (jsonl_parse((const char *)data, size, &rec, &diag) == UG_OK)
		for (size_t i = 0; i < rec.count; i++)
			(void)strlen(jsonl_value(&rec, i));

	enc_scan scan;
	enc_scan_init(&scan);
	enc_scan_feed(&scan, data, size);
	enc_scan_end(&scan);
	enc_kind kind;
	(void)enc_decide(&scan, ENC_AUTO, &kind, &diag);
	uint8_t *out = malloc(3 * size + 1);
	if (out) {
		(void)enc_to_utf8(ENC_CP1252, data, size, out);
		(void)enc_to_utf8(ENC_CP850, data, size, out);
		free(out);
	}

	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	int32_t days;
	unsigned n;
	char cpr[11];
	const char *why;
	static const char *const words[] = {"ready", "ikke parat", "fravær",
					    NULL};
	(void)adapter_parse_date(text, &days);
	(void)adapter_parse_uint(text, 1000, &n);
	(void)ug_cpr_parse(text, strlen(text), cpr, &why);
	(void)adapter_match(text, words);
	free(text);
	return 0;
}
