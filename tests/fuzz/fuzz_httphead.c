/* fuzz_httphead.c - HTTP request heads as a client sends them:
 * http_parse_head over arbitrary bytes, then http_query_get over the query
 * string it found, the way api.c asks for "limit" and "wait".
 *
 * Invariants of http_parse_head: the result is 0, -400, -431, -505 or the
 * head length; 0 means no blank line yet and fewer than HTTP_HEAD_MAX
 * bytes; -431 means none within the first HTTP_HEAD_MAX; a head length is
 * <= len and <= HTTP_HEAD_MAX, ends at the first blank line, and parsing
 * just the head gives the same request (nothing after it is read); every
 * string field is terminated inside its array, the path starts with '/'
 * and has no control bytes or blanks, content_length is -1..BODY_MAX+1.
 * http_query_get agrees with a plain reference (first "name=" pair wins)
 * and never writes past outsz (the out buffers are exactly outsz bytes). */
#include <string.h>

#include "../../appliance/http/httpreq.h"
#include "fuzz.h"

static int has_blank_line(const char *b, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (b[i] == '\n' && (b[i - 1] == '\n' || (i >= 2 && b[i - 1] == '\r' && b[i - 2] == '\n')))
			return 1;
	return 0;
}

static int terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* The query-string contract, written out plainly. */
static int ref_query_get(const char *q, const char *name, const char **v, size_t *vl)
{
	size_t nl = strlen(name);
	for (;;) {
		const char *amp = strchr(q, '&');
		size_t seg = amp ? (size_t)(amp - q) : strlen(q);
		if (seg > nl && !memcmp(q, name, nl) && q[nl] == '=') {
			*v = q + nl + 1;
			*vl = seg - nl - 1;
			return 1;
		}
		if (!amp)
			return 0;
		q = amp + 1;
	}
}

static void check_query(const char *query, const char *name, size_t outsz)
{
	char *out = malloc(outsz ? outsz : 1);
	const char *v = NULL;
	size_t vl = 0;
	int want = ref_query_get(query, name, &v, &vl);
	if (want && vl + 1 > outsz)
		want = -1;
	int got = http_query_get(query, name, out, outsz);
	FUZZ_CHECK(got == want, "query \"%s\" name \"%s\" outsz %zu: got %d, want %d", query, name,
		   outsz, got, want);
	if (got == 1)
		FUZZ_CHECK(strlen(out) == vl && !memcmp(out, v, vl),
			   "query \"%s\" name \"%s\": value \"%s\"", query, name, out);
	free(out);
}

static void same_req(const struct http_req *a, const struct http_req *b)
{
	FUZZ_CHECK(!strcmp(a->method, b->method) && !strcmp(a->path, b->path) &&
		   !strcmp(a->query, b->query) && a->minor == b->minor &&
		   a->content_length == b->content_length && a->chunked == b->chunked &&
		   a->close == b->close && !strcmp(a->auth, b->auth) &&
		   a->auth_truncated == b->auth_truncated && a->head_len == b->head_len,
		   "the head alone parses differently from the head and what follows");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_req r, r2;
	memset(&r, 0x5a, sizeof(r));
	int n = http_parse_head(buf, size, &r);
	size_t scan = size < HTTP_HEAD_MAX ? size : HTTP_HEAD_MAX;

	if (n == 0) {
		FUZZ_CHECK(size < HTTP_HEAD_MAX, "incomplete at %zu bytes", size);
		FUZZ_CHECK(!has_blank_line(buf, size), "a blank line is there, yet incomplete");
		return 0;
	}
	if (n == -431) {
		FUZZ_CHECK(size >= HTTP_HEAD_MAX && !has_blank_line(buf, scan),
			   "431 for %zu bytes", size);
		return 0;
	}
	if (n < 0) {
		FUZZ_CHECK(n == -400 || n == -505, "unexpected status %d", -n);
		FUZZ_CHECK(has_blank_line(buf, scan), "status %d before the head is complete", -n);
		FUZZ_CHECK(http_parse_head(buf, size, &r2) == n, "not deterministic");
		return 0;
	}

	size_t hl = (size_t)n;
	FUZZ_CHECK(r.head_len == hl, "returned %d, head_len %zu", n, r.head_len);
	FUZZ_CHECK(hl <= size && hl <= HTTP_HEAD_MAX, "head_len %zu of %zu bytes", hl, size);
	FUZZ_CHECK(buf[hl - 1] == '\n' && has_blank_line(buf, hl) && !has_blank_line(buf, hl - 1),
		   "head_len %zu is not the first blank line", hl);
	FUZZ_CHECK(terminated(r.method, sizeof(r.method)) && terminated(r.path, sizeof(r.path)) &&
		   terminated(r.query, sizeof(r.query)) && terminated(r.auth, sizeof(r.auth)),
		   "a field is not NUL-terminated");
	FUZZ_CHECK(r.method[0] && r.path[0] == '/', "method \"%s\" path \"%s\"", r.method, r.path);
	for (const char *p = r.path; *p; p++)
		FUZZ_CHECK((unsigned char)*p > 0x20 && *p != 0x7f && *p != '?',
			   "path byte 0x%02x", (unsigned char)*p);
	for (const char *p = r.query; *p; p++)
		FUZZ_CHECK((unsigned char)*p > 0x20 && *p != 0x7f, "query byte 0x%02x",
			   (unsigned char)*p);
	FUZZ_CHECK(r.minor >= 0 && r.minor <= 9, "HTTP/1.%d", r.minor);
	FUZZ_CHECK(r.content_length >= -1 && r.content_length <= HTTP_BODY_MAX + 1,
		   "content_length %lld", (long long)r.content_length);
	/* (A value may hold NUL bytes, so strlen(auth) can be less.) */
	FUZZ_CHECK(!r.auth_truncated || r.auth[sizeof(r.auth) - 1] == '\0',
		   "truncated auth not cut at sizeof(auth) - 1");

	/* Only the head is read: parsing it alone gives the same request. */
	char *head = malloc(hl);
	memcpy(head, buf, hl);
	memset(&r2, 0xa5, sizeof(r2));
	FUZZ_CHECK(http_parse_head(head, hl, &r2) == n, "the head alone parses to another length");
	same_req(&r, &r2);
	free(head);

	/* The query string, as api.c reads it, and at the edges of outsz. */
	check_query(r.query, "limit", 16);
	check_query(r.query, "wait", 8);
	check_query(r.query, "", 4);
	check_query(r.query, "limit", 0);
	check_query(r.query, "wait", 1);
	check_query(r.query, "x", strlen(r.query) + 1);
	char name[sizeof(r.query)];
	size_t k = strcspn(r.query, "=&");
	memcpy(name, r.query, k);
	name[k] = '\0';
	check_query(r.query, name, 2);
	check_query(r.query, name, sizeof(r.query));
	return 0;
}
