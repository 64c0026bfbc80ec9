/* request.c - parses one datagram into (limit, tasks, mode). Every byte is
 * checked: nothing is truncated, wrapped or guessed. */
#include "request.h"

#include "../jobs/primes.h"

#define TASKS_MAX 1024

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Plain decimal digits only; false on anything else or above max. */
static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out, int *overflow)
{
	uint64_t v = 0;
	*overflow = 0;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10) {
			/* Too big, unless the rest shows it is no number at all. */
			for (size_t k = i + 1; k < n; k++)
				if (s[k] < '0' || s[k] > '9')
					return 0;
			*overflow = 1;
			return 0;
		}
		v = v * 10 + d;
	}
	*out = v;
	return 1;
}

static int eq(const char *s, size_t n, const char *lit)
{
	size_t i = 0;
	for (; i < n && lit[i]; i++)
		if (s[i] != lit[i])
			return 0;
	return i == n && lit[i] == '\0';
}

const char *request_parse(const char *buf, size_t len, struct request *req)
{
	req->limit = 0;
	req->tasks = 1;
	req->split = 0;
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

	int over;
	if (!parse_u64(field[0], flen[0], UINT64_MAX, &req->limit, &over))
		return over ? "limit too large" : "bad limit";
	if (req->limit > PRIMES_LIMIT_MAX)
		return "limit too large";
	if (nf >= 2) {
		uint64_t t;
		if (!parse_u64(field[1], flen[1], UINT64_MAX, &t, &over))
			return over ? "too many tasks" : "bad tasks";
		if (t == 0)
			return "bad tasks";
		if (t > TASKS_MAX)
			return "too many tasks";
		req->tasks = (uint32_t)t;
	}
	if (nf == 3) {
		if (eq(field[2], flen[2], "repeat"))
			req->split = 0;
		else if (eq(field[2], flen[2], "split"))
			req->split = 1;
		else
			return "bad mode";
	}
	return 0;
}
