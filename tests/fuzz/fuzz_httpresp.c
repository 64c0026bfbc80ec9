/* fuzz_httpresp.c - response framing (appliance/http/httpresp.c) from
 * arbitrary fields: http_resp_head with any status, Content-Type, extra
 * header lines, length, Retry-After and buffer size, and http_error_body
 * with any message.
 *
 * Input: status (2 bytes, little-endian, taken modulo 700), flags (close,
 * no-cache, a Content-Type, extra lines, a stream), the buffer size, the
 * length (4 bytes), Retry-After (1 byte); then the Content-Type, a NUL,
 * the extra lines, a NUL, and the error message.
 *
 * Invariants: the head is refused (EINVAL) exactly when a field could
 * break the framing (status outside 100..599, a control byte in the
 * Content-Type, extra lines that are not "token: value CRLF" or that
 * name Content-Length, Transfer-Encoding or Connection), checked against
 * a plain reference; otherwise it is exactly the reference's head when
 * it fits and EROOM when it does not, nothing is written past the
 * buffer, and the head is well formed: one status line, header lines
 * each ending in CRLF with no other CR or LF, one blank line at the very
 * end, one Connection field, one Content-Length unless a 304 or a stream.
 * The error body is a JSON object whose string, unescaped, is the
 * message, with no raw control byte; or an overflow that stays within
 * the buffer, NUL-terminated. */
#include <stdio.h>
#include <string.h>

#include "../../appliance/http/httpresp.h"
#include "../../appliance/http/outbuf.h"
#include "fuzz.h"

static int is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-_.!#$%&'*+^`|~", c));
}

static int is_value(unsigned char c)
{
	return c == ' ' || c == '\t' || (c > 0x20 && c != 0x7f);
}

static int same_name(const char *s, size_t n, const char *lit)
{
	if (strlen(lit) != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (c != lit[i])
			return 0;
	}
	return 1;
}

/* The reference: is the extra block whole, allowed header lines? */
static int ref_extra_ok(const char *s)
{
	while (*s) {
		const char *name = s;
		while (is_tchar((unsigned char)*s))
			s++;
		size_t n = (size_t)(s - name);
		if (!n || *s != ':')
			return 0;
		if (same_name(name, n, "content-length") || same_name(name, n, "transfer-encoding") ||
		    same_name(name, n, "connection"))
			return 0;
		s++;
		while (is_value((unsigned char)*s))
			s++;
		if (s[0] != '\r' || s[1] != '\n')
			return 0;
		s += 2;
	}
	return 1;
}

static int ref_ctype_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!is_value((unsigned char)*s) || *s == '\t')
			return 0;
	return 1;
}

/* The head the reference expects, in out (large enough). */
static size_t ref_head(char *out, const struct http_resp *r)
{
	size_t n = (size_t)sprintf(out, "HTTP/1.1 %d %s\r\n", r->status, http_reason(r->status));
	int nm = r->status == 304;
	if (r->ctype && !nm)
		n += (size_t)sprintf(out + n, "Content-Type: %s\r\n", r->ctype);
	if (r->length >= 0 && !nm)
		n += (size_t)sprintf(out + n, "Content-Length: %lld\r\n", (long long)r->length);
	if (r->no_cache)
		n += (size_t)sprintf(out + n, "Cache-Control: no-cache\r\n");
	n += (size_t)sprintf(out + n, "Connection: %s\r\n", r->close ? "close" : "keep-alive");
	if (r->retry_after)
		n += (size_t)sprintf(out + n, "Retry-After: %u\r\n", r->retry_after);
	if (r->extra)
		n += (size_t)sprintf(out + n, "%s", r->extra);
	n += (size_t)sprintf(out + n, "\r\n");
	return n;
}

static int count(const char *s, size_t n, const char *needle)
{
	int k = 0;
	size_t nl = strlen(needle);
	for (size_t i = 0; i + nl <= n; i++)
		k += !memcmp(s + i, needle, nl);
	return k;
}

static void check_well_formed(const char *h, size_t n, const struct http_resp *r)
{
	FUZZ_CHECK(n >= 4 && !memcmp(h, "HTTP/1.1 ", 9) && !memcmp(h + n - 4, "\r\n\r\n", 4),
		   "head start or end");
	FUZZ_CHECK(count(h, n, "\r\n\r\n") == 1, "a blank line before the end");
	for (size_t i = 0; i < n; i++) {
		if (h[i] == '\r')
			FUZZ_CHECK(i + 1 < n && h[i + 1] == '\n', "bare CR at %zu", i);
		if (h[i] == '\n')
			FUZZ_CHECK(i > 0 && h[i - 1] == '\r', "bare LF at %zu", i);
	}
	FUZZ_CHECK(count(h, n, "\r\nConnection: ") == 1, "Connection fields");
	int want_cl = r->length >= 0 && r->status != 304;
	FUZZ_CHECK(count(h, n, "\r\nContent-Length: ") == want_cl, "Content-Length fields");
}

static void check_error_body(const char *msg, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct outbuf o;
	out_init(&o, buf, size);
	http_error_body(&o, msg);
	if (o.overflow) {
		FUZZ_CHECK(!size || (o.len < size && buf[o.len] == '\0'), "overflow past the buffer");
		free(buf);
		return;
	}
	FUZZ_CHECK(o.len < size && buf[o.len] == '\0' && strlen(buf) == o.len, "length");
	FUZZ_CHECK(o.len >= 13 && !memcmp(buf, "{\"error\":\"", 10) &&
		   !memcmp(buf + o.len - 3, "\"}\n", 3), "shape: %s", buf);
	/* Unescape the string and compare. */
	size_t k = 0, ml = strlen(msg);
	for (size_t i = 10; i < o.len - 3; i++) {
		unsigned char c = (unsigned char)buf[i];
		FUZZ_CHECK(c >= 0x20 && c != 0x7f, "raw control byte 0x%02x", c);
		FUZZ_CHECK(c != '"', "unescaped quote");
		if (c == '\\') {
			char e = buf[++i];
			if (e == 'u') {
				unsigned v;
				FUZZ_CHECK(sscanf(buf + i + 1, "%4x", &v) == 1, "\\u escape");
				c = (unsigned char)v;
				i += 4;
			} else {
				FUZZ_CHECK(e == '"' || e == '\\', "escape \\%c", e);
				c = (unsigned char)e;
			}
		}
		FUZZ_CHECK(k < ml && (unsigned char)msg[k] == c, "differs at %zu", k);
		k++;
	}
	FUZZ_CHECK(k == ml, "message cut at %zu of %zu", k, ml);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 9)
		return 0;
	struct http_resp r = { 0 };
	r.status = (data[0] | data[1] << 8) % 700;
	uint8_t flags = data[2];
	size_t bufsize = flags & 0x20 ? data[3] : HTTP_RESP_HEAD_MAX + data[3];
	uint32_t len = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 |
		       (uint32_t)data[7] << 24;
	r.retry_after = data[8];
	r.close = flags & 1;
	r.no_cache = flags & 2;
	r.length = flags & 0x10 ? HTTP_RESP_STREAM : flags & 0x40 ? -2 - (int64_t)(len & 7) : len;

	/* The strings, NUL-terminated copies. */
	char *rest = malloc(size - 9 + 1);
	memcpy(rest, data + 9, size - 9);
	rest[size - 9] = '\0';
	const char *ctype = rest;
	size_t cl = strlen(ctype);
	const char *extra = cl < size - 9 ? rest + cl + 1 : rest + cl;
	size_t el = strlen(extra);
	const char *msg = extra + el < rest + (size - 9) ? extra + el + 1 : extra + el;
	r.ctype = flags & 4 ? ctype : NULL;
	r.extra = flags & 8 ? extra : NULL;

	int valid = r.status >= 100 && r.status <= 599 &&
		    (r.length >= 0 || r.length == HTTP_RESP_STREAM) &&
		    (!r.ctype || ref_ctype_ok(r.ctype)) && (!r.extra || ref_extra_ok(r.extra));
	char *buf = malloc(bufsize + 16);
	memset(buf, 0xa5, bufsize + 16);
	int n = http_resp_head(buf, bufsize, &r);
	for (size_t i = bufsize; i < bufsize + 16; i++)
		FUZZ_CHECK((unsigned char)buf[i] == 0xa5, "written past the buffer at %zu", i);
	if (!valid) {
		FUZZ_CHECK(n == HTTP_RESP_EINVAL, "status %d: %d, not EINVAL", r.status, n);
	} else {
		char *want = malloc(64 + 4 * size + 256);
		size_t wl = ref_head(want, &r);
		if (wl < bufsize) {
			FUZZ_CHECK(n >= 0 && (size_t)n == wl && !memcmp(buf, want, wl),
				   "head differs from the reference (%d, %zu)", n, wl);
			check_well_formed(buf, wl, &r);
			FUZZ_CHECK(buf[wl] == '\0', "not NUL-terminated");
		} else {
			FUZZ_CHECK(n == HTTP_RESP_EROOM, "%zu bytes into %zu: %d", wl, bufsize, n);
		}
		free(want);
	}
	free(buf);
	check_error_body(msg, flags & 0x80 ? data[3] : 4096);
	free(rest);
	return 0;
}
