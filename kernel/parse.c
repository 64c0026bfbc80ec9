/* parse.c - plain decimal digits to uint64_t, every byte checked. */
#include "parse.h"

enum parse_result parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	if (n == 0)
		return PARSE_BAD;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return PARSE_BAD;       /* no number at all, however long */
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > max / 10 || d > max - v * 10)
			return PARSE_RANGE;
		v = v * 10 + d;
	}
	*out = v;
	return PARSE_OK;
}
