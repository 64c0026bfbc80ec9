/* httpreq.h - parsing an HTTP/1.1 request head (RFC 9112 sections 2-3,
 * 6.3), with the limits of API.md "Capacities". Pure: also built into the
 * host unit tests and fuzzers. */
#ifndef APPLIANCE_HTTPREQ_H
#define APPLIANCE_HTTPREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX   8192    /* header block, request line included */
#define HTTP_BODY_MAX   4096

struct http_req {
	char method[8];
	char path[256];         /* target up to '?' */
	char query[256];        /* after '?', "" if none */
	int minor;              /* HTTP/1.<minor> */
	int64_t content_length; /* -1 when absent */
	bool chunked;           /* Transfer-Encoding present (refused: 411) */
	bool close;             /* the connection ends after this request */
	char auth[272];         /* Authorization value, "" if none */
	bool auth_truncated;    /* the value was longer than auth holds */
	char if_none_match[72]; /* If-None-Match value, "" if none or too long */
	size_t head_len;        /* bytes up to and including the blank line */
};

/* 0: the head is not complete yet (and buf is within HTTP_HEAD_MAX);
 * > 0: parsed, returns head_len; < 0: minus the HTTP status to answer
 * (400 malformed, 431 head too large, 505 unsupported version). The
 * version must be HTTP/DIGIT.DIGIT (RFC 9112 2.3): HTTP/1.x is served,
 * another well-formed version (HTTP/2.0, HTTP/0.9) gets 505, anything
 * else (HTTP/2, HTTP/1.10, a fourth part on the line) is malformed. */
int http_parse_head(const char *buf, size_t len, struct http_req *r);

/* The value of name=... in a query string, copied into out: 1 found,
 * 0 absent, -1 present but longer than outsz - 1. */
int http_query_get(const char *query, const char *name, char *out, size_t outsz);

#endif
