/* fuzz_cmdline.c - the kernel command line (API.md section 4), which the
 * boot loader hands over as a NUL-terminated string: cmdline_parse over
 * arbitrary bytes (copied and NUL-terminated; an inner NUL ends the line
 * as it would in the kernel), then cmdline_get and cmdline_get_u64 for
 * every key found and the keys config.c reads.
 *
 * Invariants: at most CMDLINE_MAX_OPTS options, the rest counted in
 * dropped, nopts + dropped = the words of the kept line; truncated exactly
 * when the line is longer than CMDLINE_MAX - 1; every key and value lies in
 * cl->buf (or is the "" of a bare word), has no blank, and a key has no
 * '='; cmdline_get returns the last occurrence; cmdline_get_u64 accepts
 * exactly the plain decimal values in [min, max] and otherwise leaves the
 * default. The struct is on the heap so that ASan sees its edges. */
#include <string.h>

#include "../../kernel/cmdline.h"
#include "fuzz.h"

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int inside(const struct cmdline *cl, const char *s)
{
	return s >= cl->buf && s < cl->buf + CMDLINE_MAX && s + strlen(s) < cl->buf + CMDLINE_MAX;
}

/* Plain decimal in [min, max]: 1 with *v, 0 otherwise. */
static int ref_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	if (!*s)
		return 0;
	uint64_t x = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		unsigned d = (unsigned)(*s - '0');
		if (x > (UINT64_MAX - d) / 10)
			return 0;
		x = x * 10 + d;
	}
	if (x < min || x > max)
		return 0;
	*v = x;
	return 1;
}

static void check_key(const struct cmdline *cl, const char *key)
{
	const char *want = NULL;
	for (int i = 0; i < cl->nopts; i++)
		if (!strcmp(cl->opts[i].key, key))
			want = cl->opts[i].value;
	const char *got = cmdline_get(cl, key);
	FUZZ_CHECK(got == want, "cmdline_get(\"%s\") is not the last occurrence", key);

	static const uint64_t ranges[][2] = { { 1, 65535 }, { 0, 1 }, { 1, 63 },
					      { 0, UINT64_MAX } };
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		uint64_t v = 12345, def = 777, wantv = def;
		int ok = cmdline_get_u64(cl, key, ranges[i][0], ranges[i][1], def, &v);
		int wantok = !want || ref_u64(want, ranges[i][0], ranges[i][1], &wantv);
		FUZZ_CHECK(ok == wantok && v == (wantok ? wantv : def),
			   "cmdline_get_u64(\"%s\" = \"%s\", %llu..%llu): %d %llu", key,
			   want ? want : "(absent)", (unsigned long long)ranges[i][0],
			   (unsigned long long)ranges[i][1], ok, (unsigned long long)v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	memcpy(line, data, size);
	line[size] = '\0';
	struct cmdline *cl = malloc(sizeof(*cl));
	memset(cl, 0x5a, sizeof(*cl));
	cmdline_parse(cl, line);

	size_t len = strlen(line);
	size_t kept = len < CMDLINE_MAX - 1 ? len : CMDLINE_MAX - 1;
	FUZZ_CHECK(cl->truncated == (len > CMDLINE_MAX - 1), "truncated %d for %zu bytes",
		   cl->truncated, len);
	int words = 0;
	for (size_t i = 0; i < kept; i++)
		if (!blank(line[i]) && (i == 0 || blank(line[i - 1])))
			words++;
	FUZZ_CHECK(cl->nopts >= 0 && cl->nopts <= CMDLINE_MAX_OPTS && cl->dropped >= 0,
		   "nopts %d dropped %d", cl->nopts, cl->dropped);
	FUZZ_CHECK(cl->nopts + cl->dropped == words, "%d + %d options for %d words", cl->nopts,
		   cl->dropped, words);
	for (int i = 0; i < cl->nopts; i++) {
		const char *k = cl->opts[i].key, *v = cl->opts[i].value;
		FUZZ_CHECK(inside(cl, k), "key %d outside the buffer", i);
		FUZZ_CHECK(inside(cl, v) || (!*v && !inside(cl, v)), "value %d outside the buffer", i);
		FUZZ_CHECK(strcspn(k, " \t\r\n=") == strlen(k), "key \"%s\"", k);
		FUZZ_CHECK(strcspn(v, " \t\r\n") == strlen(v), "value \"%s\"", v);
	}

	for (int i = 0; i < cl->nopts; i++)
		check_key(cl, cl->opts[i].key);
	static const char *const keys[] = { "ip", "udp_port", "http_port", "token", "placement",
					    "test_dead_ap", "panic_test", "test_udp_echo",
					    "test_log_jobs", "bench_floor", "" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		check_key(cl, keys[i]);

	/* NULL is an empty line. */
	cmdline_parse(cl, NULL);
	FUZZ_CHECK(cl->nopts == 0 && !cl->truncated && !cl->dropped, "NULL line");
	free(cl);
	free(line);
	return 0;
}
