/*
 * libFuzzer target: any bytes as an agency's CSV export: the streaming
 * CSV reader (header, separator, quoting, records, the raw text kept for
 * the rejects file) and, for every kind of every adapter whose columns
 * the header names, that kind's row parser on each record, as an import
 * runs them. hubctl assign --file reads its file with the same reader.
 * None may crash, read or write out of bounds, or leak; a bad row is a
 * return code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "adapters/adapter.h"
#include "common/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct adapter_ops *const agencies[] = {
    &school_ops, &college_ops, &addiction_ops, &jobcenter_ops, &youthunit_ops,
};
enum { AGENCIES = sizeof agencies / sizeof agencies[0], KINDS_MAX = 32 };

typedef struct {
	const struct adapter_kind *kind;
	int index[ADAPTER_COLUMNS_MAX];
} mapped;

static adapter_event ev;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0; /* fmemopen refuses an empty buffer */
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	csv_reader *r = NULL;
	ug_diag diag = {0};
	if (csv_reader_new(&r, f, "fuzz.csv", &diag) != UG_OK) {
		fclose(f);
		return 0;
	}
	(void)csv_separator(r);
	(void)csv_crlf(r);
	for (size_t i = 0; i < csv_header_count(r); i++)
		(void)strlen(csv_header_name(r, i));

	mapped kinds[KINDS_MAX];
	size_t nkinds = 0;
	char unknown[256];
	for (size_t a = 0; a < AGENCIES; a++)
		for (const struct adapter_kind *const *k = agencies[a]->kinds;
		     *k && nkinds < KINDS_MAX; k++) {
			kinds[nkinds].kind = *k;
			if (csv_map_columns(r, (*k)->columns,
					    kinds[nkinds].index, unknown,
					    sizeof unknown, &diag) == UG_OK)
				nkinds++;
		}

	ug_err err;
	while ((err = csv_next(r, &diag)) != UG_ENOTFOUND && err != UG_EIO) {
		size_t len;
		bool truncated;
		(void)csv_raw(r, &len, &truncated);
		if (err != UG_OK)
			continue;
		for (size_t i = 0; i < csv_count(r); i++)
			(void)strlen(csv_field(r, i));
		for (size_t k = 0; k < nkinds; k++) {
			adapter_row row = {{NULL}};
			for (size_t c = 0; kinds[k].kind->columns[c].name; c++)
				row.field[c] =
				    kinds[k].index[c] < 0
					? NULL
					: csv_field(r,
						    (size_t)kinds[k].index[c]);
			adapter_event_init(&ev);
			ug_diag why = {0};
			(void)kinds[k].kind->parse_row(&row, &ev, &why);
		}
	}
	csv_reader_destroy(&r);
	fclose(f);
	return 0;
}
