/* cmdline.c - splits the boot command line into key=value options. */
#include "cmdline.h"

#include <stddef.h>
#include <string.h>

#include "parse.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void cmdline_parse(struct cmdline *cl, const char *line)
{
	size_t n = 0;
	cl->nopts = 0;
	cl->dropped = 0;
	cl->truncated = false;
	if (line) {
		while (line[n] && n < CMDLINE_MAX - 1) {
			cl->buf[n] = line[n];
			n++;
		}
		cl->truncated = line[n] != '\0';
	}
	cl->buf[n] = '\0';

	char *p = cl->buf;
	for (;;) {
		while (is_blank(*p))
			*p++ = '\0';
		if (!*p)
			break;
		char *word = p;
		while (*p && !is_blank(*p))
			p++;
		if (*p)
			*p++ = '\0';
		if (cl->nopts == CMDLINE_MAX_OPTS) {
			cl->dropped++;
			continue;
		}
		char *eq = word;
		while (*eq && *eq != '=')
			eq++;
		const char *value = "";
		if (*eq) {
			*eq = '\0';
			value = eq + 1;
		}
		cl->opts[cl->nopts].key = word;
		cl->opts[cl->nopts].value = value;
		cl->nopts++;
	}
}

static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

const char *cmdline_get(const struct cmdline *cl, const char *key)
{
	for (int i = cl->nopts - 1; i >= 0; i--)
		if (str_eq(cl->opts[i].key, key))
			return cl->opts[i].value;
	return NULL;
}

bool cmdline_get_u64(const struct cmdline *cl, const char *key, uint64_t min, uint64_t max,
		     uint64_t def, uint64_t *out)
{
	const char *v = cmdline_get(cl, key);
	*out = def;
	if (!v)
		return true;
	uint64_t x;
	size_t n = 0;
	while (v[n])
		n++;
	if (parse_u64(v, n, max, &x) != PARSE_OK || x < min)
		return false;
	*out = x;
	return true;
}

void cmdline_redact(const char *line, const char *key, char *out, size_t size)
{
	size_t n = 0, klen = strlen(key);
	bool start = true;      /* at the start of a word */
	if (!size)
		return;
	while (*line && n + 1 < size) {
		if (start && !strncmp(line, key, klen) && line[klen] == '=') {
			for (const char *k = line; k <= line + klen && n + 1 < size; k++)
				out[n++] = *k;
			for (const char *m = "***"; *m && n + 1 < size; m++)
				out[n++] = *m;
			line += klen + 1;
			while (*line && !is_blank(*line))
				line++;
			start = false;
			continue;
		}
		start = is_blank(*line);
		out[n++] = *line++;
	}
	out[n] = '\0';
}
