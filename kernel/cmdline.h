/* cmdline.h - the kernel command line as key=value options (API.md
 * section 4). Pure: also built into the host unit tests. */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMDLINE_MAX       1024  /* bytes kept of the command line */
#define CMDLINE_MAX_OPTS  32

struct cmdline {
	char buf[CMDLINE_MAX];          /* copy, split in place */
	int nopts;
	struct {
		const char *key;
		const char *value;      /* "" for a bare word */
	} opts[CMDLINE_MAX_OPTS];
	int dropped;                    /* options beyond CMDLINE_MAX_OPTS */
	bool truncated;                 /* line longer than CMDLINE_MAX - 1 */
};

/* Splits on blanks; the last occurrence of a key wins. */
void cmdline_parse(struct cmdline *cl, const char *line);
const char *cmdline_get(const struct cmdline *cl, const char *key);
/* A decimal value in [min, max], or def when the key is absent. Returns
 * false (and *out = def) when present but malformed or out of range. */
bool cmdline_get_u64(const struct cmdline *cl, const char *key, uint64_t min, uint64_t max,
		     uint64_t def, uint64_t *out);

/* line as the console may show it, into out (size bytes, cut short if
 * need be): the value of every option named key replaced by "***". */
void cmdline_redact(const char *line, const char *key, char *out, size_t size);

#endif
