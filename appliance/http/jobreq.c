/* jobreq.c - POST /api/jobs bodies through jsmn (libjsmn-dev's header).
 * jsmn finds the tokens but lets missing or extra separators through
 * ({"limit":5 "tasks":8} is one object to it), so the bytes between the
 * tokens are checked here: every token is consumed, every separator is
 * where JSON puts it, and nothing else is there. */
#include "jobreq.h"

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "../../kernel/parse.h"

#define MAX_TOKENS 32
#define MSG_LIMIT "limit must be an integer 0..1099511627776"
#define MSG_TASKS "tasks must be an integer 1..1024"
#define MSG_MODE  "mode must be \"repeat\" or \"split\""
#define MSG_JSON  "body is not valid JSON"

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
static int tok_u64(const char *js, const jsmntok_t *t, uint64_t max, uint64_t *out)
{
	size_t n = (size_t)(t->end - t->start);
	if (t->type != JSMN_PRIMITIVE || (n > 1 && js[t->start] == '0'))
		return 0;       /* JSON has no leading zeros */
	return parse_u64(js + t->start, n, max, out) == PARSE_OK;
}

/* Where a token's text begins and ends, quotes included. */
static size_t tok_lo(const jsmntok_t *t)
{
	return (size_t)t->start - (t->type == JSMN_STRING);
}

static size_t tok_hi(const jsmntok_t *t)
{
	return (size_t)t->end + (t->type == JSMN_STRING);
}

static size_t skip_ws(const char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

/* The object's pairs with exactly one ':' inside and one ',' between,
 * nothing but white space around them, and nothing after the '}'. */
static int well_formed(const char *body, size_t len, const jsmntok_t *tok, int pairs)
{
	size_t i = skip_ws(body, 0, len);
	if (i != (size_t)tok[0].start || body[i] != '{')
		return 0;
	i++;
	for (int f = 0; f < pairs; f++) {
		const jsmntok_t *k = &tok[1 + 2 * f], *v = &tok[2 + 2 * f];
		if (f > 0) {
			i = skip_ws(body, i, len);
			if (i >= len || body[i] != ',')
				return 0;
			i++;
		}
		i = skip_ws(body, i, len);
		if (i != tok_lo(k))
			return 0;
		i = skip_ws(body, tok_hi(k), len);
		if (i >= len || body[i] != ':')
			return 0;
		i = skip_ws(body, i + 1, len);
		if (i != tok_lo(v))
			return 0;
		i = tok_hi(v);
	}
	i = skip_ws(body, i, len);
	if (i + 1 != (size_t)tok[0].end || body[i] != '}')
		return 0;
	return skip_ws(body, i + 1, len) == len;
}

const char *jobreq_parse(const char *body, size_t len, struct job_spec *out)
{
	jsmn_parser p;
	jsmntok_t tok[MAX_TOKENS];
	*out = job_spec_default();
	jsmn_init(&p);
	int n = jsmn_parse(&p, body, len, tok, MAX_TOKENS);
	if (n == JSMN_ERROR_NOMEM)
		return "too many fields";
	if (n < 1)
		return MSG_JSON;
	if (tok[0].type != JSMN_OBJECT)
		return "body must be a JSON object";
	/* Flat pairs only: one key and one value token each, all consumed. */
	for (int i = 1; i < n; i++)
		if (tok[i].type == JSMN_OBJECT || tok[i].type == JSMN_ARRAY)
			return "field values must be numbers or strings";
	if (n != 1 + 2 * tok[0].size || !well_formed(body, len, tok, tok[0].size))
		return MSG_JSON;
	int seen_limit = 0, seen_tasks = 0, seen_mode = 0;
	for (int f = 0; f < tok[0].size; f++) {
		const jsmntok_t *k = &tok[1 + 2 * f], *v = &tok[2 + 2 * f];
		if (k->type != JSMN_STRING)
			return MSG_JSON;
		if (tok_is(body, k, "limit")) {
			if (seen_limit++)
				return "repeated field: limit";
			if (!tok_u64(body, v, JOBS_LIMIT_MAX, &out->limit))
				return MSG_LIMIT;
		} else if (tok_is(body, k, "tasks")) {
			uint64_t t;
			if (seen_tasks++)
				return "repeated field: tasks";
			if (!tok_u64(body, v, JOBS_TASKS_MAX, &t))
				return MSG_TASKS;
			out->tasks = (uint32_t)t;
		} else if (tok_is(body, k, "mode")) {
			if (seen_mode++)
				return "repeated field: mode";
			if (v->type == JSMN_STRING && tok_is(body, v, "repeat"))
				out->mode = JOB_REPEAT;
			else if (v->type == JSMN_STRING && tok_is(body, v, "split"))
				out->mode = JOB_SPLIT;
			else
				return MSG_MODE;
		} else {
			return "unknown field (allowed: limit, tasks, mode)";
		}
	}
	if (!seen_limit)
		return "limit is required";
	switch (job_spec_check(out)) {
	case JOB_SPEC_OK: return 0;
	case JOB_SPEC_LIMIT_RANGE: return MSG_LIMIT;
	case JOB_SPEC_MODE: return MSG_MODE;
	default: return MSG_TASKS;
	}
}
