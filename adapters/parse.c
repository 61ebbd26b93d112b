/*
 * Value parsers every agency's parse_row shares: dates in the ISO and
 * the Danish forms, small whole numbers, and enumerations with Danish and
 * English synonyms. They are strict (the whole text, nothing else) so a
 * value that is almost right is rejected with its line rather than
 * guessed at; they never keep or print the text they are given.
 */
#include <string.h>

#include "adapters/adapter.h"
#include "common/util.h"

ug_err
adapter_parse_date(const char *text, int32_t *days)
{
	char iso[11];
	/* Reordered to ISO, the one validator decides what a real date
	 * is. */
	if (!ug_date_form_iso(text, iso))
		return UG_EMALFORMED;
	return ug_date_parse_n(iso, 10, days);
}

bool
adapter_date_iso(const char *text, char iso[11])
{
	if (!ug_date_form_iso(text, iso) || iso[4] != '-' || iso[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (iso[i] < '0' || iso[i] > '9'))
			return false;
	int year = (iso[0] - '0') * 1000 + (iso[1] - '0') * 100 +
		   (iso[2] - '0') * 10 + (iso[3] - '0');
	int month = (iso[5] - '0') * 10 + (iso[6] - '0');
	int day = (iso[8] - '0') * 10 + (iso[9] - '0');
	static const int dim[] = {31, 28, 31, 30, 31, 30,
				  31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return year >= 1 && month >= 1 && month <= 12 && day >= 1 &&
	       day <= dim[month - 1] + (month == 2 && leap);
}

ug_err
adapter_parse_uint(const char *text, unsigned max, unsigned *out)
{
	size_t len = text ? strlen(text) : 0;
	if (len == 0 || strspn(text, "0123456789") != len)
		return UG_EMALFORMED;
	/* Nine digits at most: a ten-digit number could be a CPR, and a
	 * reason that quotes it back would leak one. */
	size_t start = 0;
	while (start + 1 < len && text[start] == '0')
		start++;
	if (len - start > 9)
		return UG_EINVAL;
	unsigned long v = 0;
	for (size_t i = start; i < len; i++)
		v = v * 10 + (unsigned long)(text[i] - '0');
	if (v > max)
		return UG_EINVAL;
	*out = (unsigned)v;
	return UG_OK;
}

int
adapter_match(const char *text, const char *const *words)
{
	return ug_word_match(text, words);
}

const struct adapter_kind *
adapter_find_kind(const struct adapter_ops *ops, const char *name)
{
	for (size_t i = 0; ops->kinds[i]; i++) {
		const char *words[] = {ops->kinds[i]->name, NULL};
		if (adapter_match(name, words) == 0)
			return ops->kinds[i];
	}
	return NULL;
}
