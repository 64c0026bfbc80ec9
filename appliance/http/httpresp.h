/* httpresp.h - framing an HTTP/1.1 response (RFC 9112 section 4, RFC
 * 9110 section 15): the status line, Content-Type, Content-Length,
 * Cache-Control, Connection, Retry-After and the caller's extra header
 * lines; and the JSON error body every refusal carries (API.md section
 * 3). Pure: also built into the host unit tests and fuzzers. */
#ifndef APPLIANCE_HTTPRESP_H
#define APPLIANCE_HTTPRESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outbuf.h"

#define HTTP_RESP_HEAD_MAX 512  /* room for every head the appliance sends */
#define HTTP_RESP_STREAM   (-1) /* length: no Content-Length, the body ends with the connection */

struct http_resp {
	int status;             /* 100..599 */
	const char *ctype;      /* Content-Type; NULL: none */
	int64_t length;         /* body bytes, or HTTP_RESP_STREAM */
	bool close;             /* Connection: close; else keep-alive */
	unsigned retry_after;   /* Retry-After in seconds; 0: none */
	bool no_cache;          /* Cache-Control: no-cache */
	const char *extra;      /* more header lines, each "Name: value\r\n"; NULL: none */
};

enum http_resp_err {
	HTTP_RESP_EROOM = -1,   /* the head does not fit in the buffer */
	HTTP_RESP_EINVAL = -2,  /* a field would break the framing (below) */
};

/* The reason phrase of a status ("Error" for one the appliance does not
 * send). */
const char *http_reason(int status);

/* Writes the head, blank line included, into buf: its length, or an
 * enum http_resp_err. EINVAL: a status outside 100..599, a negative
 * length other than HTTP_RESP_STREAM, a Content-Type with a control byte,
 * or an extra block that is not whole header lines (a token, ':', a
 * value without control bytes, CRLF) or that names a field the framing
 * owns (Content-Length, Transfer-Encoding, Connection): a caller's string
 * can never end the head early or frame the body differently. A 304
 * carries neither Content-Type nor Content-Length (RFC 9110 8.6: it would
 * have to be the 200's) and no body. */
int http_resp_head(char *buf, size_t size, const struct http_resp *r);

/* {"error":"<msg>"} and a newline, msg escaped for a JSON string. */
void http_error_body(struct outbuf *o, const char *msg);

#endif
