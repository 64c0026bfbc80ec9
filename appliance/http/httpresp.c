/* httpresp.c - response heads and error bodies (httpresp.h). */
#include "httpresp.h"

#include <stdio.h>
#include <string.h>

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static bool tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '!' || c == '#' || c == '$' ||
	       c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' || c == '^' ||
	       c == '`' || c == '|' || c == '~';
}

/* A field value's byte (RFC 9110 5.5): visible, blank or obs-text. */
static bool vchar(char c)
{
	unsigned char u = (unsigned char)c;
	return u == ' ' || u == '\t' || (u > 0x20 && u != 0x7f);
}

static bool name_is(const char *s, size_t n, const char *lit)
{
	size_t i = 0;
	for (; i < n && lit[i]; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
		if (c != lit[i])
			return false;
	}
	return i == n && !lit[i];
}

static bool ctype_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!vchar(*s) || *s == '\t')
			return false;
	return true;
}

/* Whole header lines, none naming a field the framing writes itself. */
static bool extra_ok(const char *s)
{
	while (*s) {
		size_t n = 0;
		while (tchar(s[n]))
			n++;
		if (!n || s[n] != ':')
			return false;
		if (name_is(s, n, "content-length") || name_is(s, n, "transfer-encoding") ||
		    name_is(s, n, "connection"))
			return false;
		s += n + 1;
		while (vchar(*s))
			s++;
		if (s[0] != '\r' || s[1] != '\n')
			return false;
		s += 2;
	}
	return true;
}

int http_resp_head(char *buf, size_t size, const struct http_resp *r)
{
	if (r->status < 100 || r->status > 599 ||
	    (r->length < 0 && r->length != HTTP_RESP_STREAM) ||
	    (r->ctype && !ctype_ok(r->ctype)) || (r->extra && !extra_ok(r->extra)))
		return HTTP_RESP_EINVAL;
	bool not_modified = r->status == 304;
	struct outbuf o;
	out_init(&o, buf, size);
	out_printf(&o, "HTTP/1.1 %d %s\r\n", r->status, http_reason(r->status));
	if (r->ctype && !not_modified)
		out_printf(&o, "Content-Type: %s\r\n", r->ctype);
	if (r->length >= 0 && !not_modified)
		out_printf(&o, "Content-Length: %llu\r\n", (unsigned long long)r->length);
	if (r->no_cache)
		out_printf(&o, "Cache-Control: no-cache\r\n");
	out_printf(&o, "Connection: %s\r\n", r->close ? "close" : "keep-alive");
	if (r->retry_after)
		out_printf(&o, "Retry-After: %u\r\n", r->retry_after);
	if (r->extra)
		out_printf(&o, "%s", r->extra);
	out_printf(&o, "\r\n");
	if (o.overflow)
		return HTTP_RESP_EROOM;
	return (int)o.len;
}

void http_error_body(struct outbuf *o, const char *msg)
{
	out_printf(o, "{\"error\":\"");
	for (; *msg; msg++) {
		unsigned char c = (unsigned char)*msg;
		if (c == '"' || c == '\\')
			out_printf(o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			out_printf(o, "\\u%04x", c);
		else
			out_printf(o, "%c", c);
	}
	out_printf(o, "\"}\n");
}
