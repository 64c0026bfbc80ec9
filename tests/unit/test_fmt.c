/* test_fmt.c - the kernel's printf formatter against the host's. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../kernel/fmt.h"
#include "check.h"

#define SAME(...) \
	do { \
		char a[128], b[128]; \
		int na = fmt_snprintf(a, sizeof(a), __VA_ARGS__); \
		int nb = snprintf(b, sizeof(b), __VA_ARGS__); \
		CHECK(na == nb && strcmp(a, b) == 0); \
		if (strcmp(a, b)) \
			fprintf(stderr, "  got \"%s\" want \"%s\"\n", a, b); \
	} while (0)

int main(void)
{
	SAME("plain");
	SAME("%d %d %d", 0, -1, 2147483647);
	SAME("%d", (int)-2147483647 - 1);
	SAME("%ld %lu", (long)INT64_MIN, (unsigned long)UINT64_MAX);
	SAME("%llu %lld", 18446744073709551615ULL, -5LL);
	SAME("%zu", (size_t)12345);
	SAME("%x %X %08x %-6x|", 0xbeefu, 0xbeefu, 0x12u, 0xabu);
	SAME("%5d|%-5d|%05d", 42, 42, -42);
	SAME("%s|%10s|%-10s|%.3s", "abc", "abc", "abc", "abcdef");
	SAME("%c%c", 'o', 'k');
	SAME("100%%");
	SAME("%lx", 0xfffffffffffUL);
	SAME("%u", 4000000000u);

	char small[4];
	CHECK(fmt_snprintf(small, sizeof(small), "%s", "abcdef") == 6);
	CHECK(strcmp(small, "abc") == 0);
	CHECK(fmt_snprintf(NULL, 0, "%d", 123) == 3);
	return CHECK_DONE("fmt");
}
