/* http.h - the HTTP/1.1 connection layer on a TCP port (API.md section
 * 3): accepts connections, frames requests (httpreq.c), answers them in
 * order and closes idle ones. What a request means is the handlers'
 * business: they are given at init and answer through http_respond*.
 * Knows no route, no job and no token. BSP only. */
#ifndef APPLIANCE_HTTP_H
#define APPLIANCE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpreq.h"
#include "render.h"

/* Each connection holds a 12 KiB input buffer (head and body limits) on
 * the heap and one lwIP pcb; lwipopts.h's MEMP_NUM_TCP_PCB covers these,
 * the refused ones and those closing. */
#define HTTP_MAX_CONNS  64
/* Connections beyond HTTP_MAX_CONNS are answered 503 (Retry-After: 1,
 * Connection: close) and closed; at most this many of them are kept
 * until their client closes (HTTP_LINGER_S at most), others are reset. */
#define HTTP_MAX_REFUSING 32
#define HTTP_IDLE_S     20      /* API.md: closed after 10 to 30 s of silence */
/* A stream whose client leaves more than this unread is closed. */
#define HTTP_STREAM_BACKLOG (512u << 10)

/* A connection as a handler holds it: stale once the client is gone. */
struct http_conn_ref {
	int slot;
	uint32_t gen;
};

struct http_handlers {
	/* A complete request with its body. Answers with http_respond*, or
	 * calls http_defer and answers later. */
	void (*request)(struct http_conn_ref ref, const struct http_req *r, const char *body,
			size_t len);
	/* Every 500 ms while an answer is deferred (tag from http_defer). */
	void (*deferred_poll)(struct http_conn_ref ref, uint64_t tag);
};

struct http_stats {
	uint64_t bad;           /* requests refused before a handler saw them */
	uint64_t refused;       /* connections turned away: all HTTP_MAX_CONNS in use */
	uint64_t reset;         /* of those, reset instead of answered 503 */
	uint32_t open;          /* connections now */
};

void http_init(uint16_t port, const struct http_handlers *h);
void http_respond(struct http_conn_ref ref, int status, const char *ctype, const char *body,
		  size_t body_len, const char *extra_headers);
void http_respond_out(struct http_conn_ref ref, int status, const char *ctype,
		      const struct outbuf *o, const char *extra_headers);
void http_respond_error(struct http_conn_ref ref, int status, const char *msg,
			const char *extra_headers);
/* Holds the answer: the connection reads no further request until the
 * handler answers (deferred_poll is called meanwhile). */
void http_defer(struct http_conn_ref ref, uint64_t tag);
/* Still connected and deferred with this tag. */
bool http_deferred(struct http_conn_ref ref, uint64_t tag);
void http_stats(struct http_stats *s);

/* Streams (Server-Sent Events, API.md section 3). http_stream_open sends
 * a 200 head with ctype and Connection: close but no Content-Length (the
 * body ends with the connection); from then on the connection reads no
 * request, is never closed as idle, and carries what http_stream_send
 * hands it until either side closes. Open: false when the connection is
 * gone or already answering. Send: false when the stream is gone, or
 * when the client left HTTP_STREAM_BACKLOG bytes unread (then it is
 * closed; an EventSource reconnects). */
bool http_stream_open(struct http_conn_ref ref, const char *ctype, const char *extra_headers);
bool http_stream_send(struct http_conn_ref ref, const char *data, size_t len);
/* Bytes of the stream not yet handed to TCP; SIZE_MAX when it is gone. */
size_t http_stream_pending(struct http_conn_ref ref);
void http_stream_close(struct http_conn_ref ref);

#endif
