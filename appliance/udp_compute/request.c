/* request.c - parses one datagram into (limit, tasks, mode). Every byte is
 * checked: nothing is truncated, wrapped or guessed. */
#include "request.h"

#include "../../kernel/parse.h"

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

static int eq(const char *s, size_t n, const char *lit)
{
	size_t i = 0;
	for (; i < n && lit[i]; i++)
		if (s[i] != lit[i])
			return 0;
	return i == n && lit[i] == '\0';
}

const char *request_parse(const char *buf, size_t len, struct job_spec *spec)
{
	*spec = job_spec_default();
	if (len > REQUEST_MAX_BYTES)
		return "request too long";
	/* One final "\n" or "\r\n" may end the request. */
	if (len && buf[len - 1] == '\n') {
		len--;
		if (len && buf[len - 1] == '\r')
			len--;
	}
	const char *field[4];
	size_t flen[4];
	int nf = 0;
	size_t i = 0;
	while (i < len) {
		while (i < len && blank(buf[i]))
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && !blank(buf[i]))
			i++;
		if (nf == 3)
			return "extra fields";
		field[nf] = buf + start;
		flen[nf] = i - start;
		nf++;
	}
	if (nf == 0)
		return "empty request";

	/* Fields in order, each checked (job_spec_check) as it is filled in,
	 * so the reason names the first bad field. */
	uint64_t t;
	enum parse_result r = parse_u64(field[0], flen[0], UINT64_MAX, &spec->limit);
	if (r != PARSE_OK)
		return r == PARSE_RANGE ? "limit too large" : "bad limit";
	if (job_spec_check(spec) != JOB_SPEC_OK)
		return "limit too large";
	if (nf >= 2) {
		r = parse_u64(field[1], flen[1], UINT64_MAX, &t);
		if (r != PARSE_OK)
			return r == PARSE_RANGE ? "too many tasks" : "bad tasks";
		spec->tasks = t > JOBS_TASKS_MAX ? JOBS_TASKS_MAX + 1 : (uint32_t)t;
		enum job_spec_err e = job_spec_check(spec);
		if (e != JOB_SPEC_OK)
			return e == JOB_SPEC_TASKS_ZERO ? "bad tasks" : "too many tasks";
	}
	if (nf == 3) {
		if (eq(field[2], flen[2], "repeat"))
			spec->mode = JOB_REPEAT;
		else if (eq(field[2], flen[2], "split"))
			spec->mode = JOB_SPLIT;
		else
			return "bad mode";
	}
	return 0;
}
