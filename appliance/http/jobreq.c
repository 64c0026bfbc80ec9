/* jobreq.c - POST /api/jobs bodies through jsmn (libjsmn-dev's header). */
#include "jobreq.h"

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "../jobs/primes.h"

#define MAX_TOKENS 32

static int tok_is(const char *js, const jsmntok_t *t, const char *lit)
{
	int n = t->end - t->start;
	int i = 0;
	for (; i < n && lit[i]; i++)
		if (js[t->start + i] != lit[i])
			return 0;
	return i == n && !lit[i];
}

/* A JSON number that is a plain non-negative integer, up to max. */
static const char *tok_u64(const char *js, const jsmntok_t *t, uint64_t max, uint64_t *out,
			   const char *bad, const char *big)
{
	if (t->type != JSMN_PRIMITIVE)
		return bad;
	uint64_t v = 0;
	int n = t->end - t->start;
	if (n == 0)
		return bad;
	for (int i = 0; i < n; i++) {
		char c = js[t->start + i];
		if (c < '0' || c > '9')
			return bad;
		unsigned d = (unsigned)(c - '0');
		if (v > (max - d) / 10)
			return big;
		v = v * 10 + d;
	}
	if (n > 1 && js[t->start] == '0')
		return bad;     /* JSON has no leading zeros */
	*out = v;
	return 0;
}

const char *jobreq_parse(const char *body, size_t len, struct jobreq *out)
{
	jsmn_parser p;
	jsmntok_t tok[MAX_TOKENS];
	out->limit = 0;
	out->tasks = 1;
	out->split = 0;
	jsmn_init(&p);
	int n = jsmn_parse(&p, body, len, tok, MAX_TOKENS);
	if (n == JSMN_ERROR_NOMEM)
		return "too many fields";
	if (n < 1)
		return "body is not valid JSON";
	if (tok[0].type != JSMN_OBJECT)
		return "body must be a JSON object";
	/* Nothing but blanks after the object. */
	for (size_t i = (size_t)tok[0].end; i < len; i++)
		if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' && body[i] != '\n')
			return "body is not valid JSON";
	int seen_limit = 0, seen_tasks = 0, seen_mode = 0;
	int i = 1;
	for (int f = 0; f < tok[0].size; f++) {
		if (i + 1 >= n)
			return "body is not valid JSON";
		const jsmntok_t *k = &tok[i], *v = &tok[i + 1];
		if (k->type != JSMN_STRING)
			return "body is not valid JSON";
		if (v->type == JSMN_OBJECT || v->type == JSMN_ARRAY)
			return "field values must be numbers or strings";
		const char *err;
		if (tok_is(body, k, "limit")) {
			if (seen_limit++)
				return "repeated field: limit";
			err = tok_u64(body, v, PRIMES_LIMIT_MAX, &out->limit,
				      "limit must be an integer 0..1099511627776",
				      "limit must be an integer 0..1099511627776");
			if (err)
				return err;
		} else if (tok_is(body, k, "tasks")) {
			uint64_t t;
			if (seen_tasks++)
				return "repeated field: tasks";
			err = tok_u64(body, v, 1024, &t, "tasks must be an integer 1..1024",
				      "tasks must be an integer 1..1024");
			if (err)
				return err;
			if (t == 0)
				return "tasks must be an integer 1..1024";
			out->tasks = (uint32_t)t;
		} else if (tok_is(body, k, "mode")) {
			if (seen_mode++)
				return "repeated field: mode";
			if (v->type != JSMN_STRING)
				return "mode must be \"repeat\" or \"split\"";
			if (tok_is(body, v, "repeat"))
				out->split = 0;
			else if (tok_is(body, v, "split"))
				out->split = 1;
			else
				return "mode must be \"repeat\" or \"split\"";
		} else {
			return "unknown field (allowed: limit, tasks, mode)";
		}
		i += 2;
	}
	if (!seen_limit)
		return "limit is required";
	return 0;
}
