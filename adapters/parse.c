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

/* text in any of the three forms, reordered to ISO; false if it is in
 * none of them. */
static bool
to_iso(const char *text, char iso[11])
{
	if (!text || strlen(text) != 10)
		return false;
	if (text[4] == '-') {
		memcpy(iso, text, 11);
		return true;
	}
	/* DD-MM-YYYY or DD.MM.YYYY, one separator throughout: "01-03.2024"
	 * is more likely a typo than a date. */
	char sep = text[2];
	if ((sep != '-' && sep != '.') || text[5] != sep)
		return false;
	const char out[11] = {text[6], text[7], text[8], text[9], '-', text[3],
			      text[4], '-',	text[0], text[1], '\0'};
	memcpy(iso, out, 11);
	return true;
}

ug_err
adapter_parse_date(const char *text, int32_t *days)
{
	char iso[11];
	/* Reordered to ISO, the one validator decides what a real date
	 * is. */
	if (!to_iso(text, iso))
		return UG_EMALFORMED;
	return ug_date_parse_n(iso, 10, days);
}

bool
adapter_date_iso(const char *text, char iso[11])
{
	if (!to_iso(text, iso) || iso[4] != '-' || iso[7] != '-')
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

/* Next folded character of s: ASCII lower case, ' ' '-' '_' and the
 * non-breaking space (C2 A0, what a header pasted in a spreadsheet may
 * hold between its words) as '_', the UTF-8 capitals Æ Ø Å (C3 86, C3 98,
 * C3 85) as their small letters.
 * Returns the folded code (a byte, or 0x100 + the second UTF-8 byte for
 * the Danish letters) and advances *s; 0 at the end. */
static unsigned
fold_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	if (!*p)
		return 0;
	if (p[0] == 0xC2 && p[1] == 0xA0) {
		*s = p + 2;
		return '_';
	}
	if (p[0] == 0xC3 && p[1] >= 0x80 && p[1] <= 0xBF) {
		unsigned c = p[1];
		if (c >= 0x80 && c <= 0x9E && c != 0x97)
			c += 0x20; /* Latin-1 capitals to small */
		*s = p + 2;
		return 0x100 + c;
	}
	*s = p + 1;
	unsigned c = p[0];
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c == ' ' || c == '-')
		return '_';
	return c;
}

static bool
words_equal(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a,
			    *q = (const unsigned char *)b;
	for (;;) {
		unsigned x = fold_next(&p), y = fold_next(&q);
		if (x != y)
			return false;
		if (x == 0)
			return true;
	}
}

int
adapter_match(const char *text, const char *const *words)
{
	if (!text || !words)
		return -1;
	/* Without the non-breaking spaces around it, as a column's name
	 * (csv_column_matches): the readers drop only blanks there, and a
	 * cell pasted in a spreadsheet may end in U+00A0. */
	while ((unsigned char)text[0] == 0xC2 &&
	       (unsigned char)text[1] == 0xA0)
		text += 2;
	size_t len = strlen(text);
	while (len >= 2 && (unsigned char)text[len - 2] == 0xC2 &&
	       (unsigned char)text[len - 1] == 0xA0)
		len -= 2;
	char word[256];
	if (len >= sizeof word)
		return -1; /* longer than any word of a list */
	memcpy(word, text, len);
	word[len] = '\0';
	for (int i = 0; words[i]; i++)
		if (words_equal(word, words[i]))
			return i;
	return -1;
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
