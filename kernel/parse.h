/* parse.h - the one decimal parser: every number that comes from outside
 * (the command line, UDP requests, HTTP heads, JSON bodies, query strings
 * and paths) goes through parse_u64. Pure: also built into the host unit
 * tests and fuzzers. */
#ifndef KERNEL_PARSE_H
#define KERNEL_PARSE_H

#include <stddef.h>
#include <stdint.h>

enum parse_result {
	PARSE_OK = 0,
	PARSE_BAD,      /* empty, or anything but the digits 0-9 */
	PARSE_RANGE,    /* plain digits, but above max (or beyond 64 bits) */
};

/* s[0..n) as plain decimal digits (leading zeros allowed; no sign, blank,
 * hex or fraction). *out is written only on PARSE_OK. */
enum parse_result parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out);

#endif
