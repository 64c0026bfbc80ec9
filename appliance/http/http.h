/* http.h - the HTTP/1.1 connection layer on a TCP port (API.md section
 * 3): accepts connections, frames requests (httpreq.c) and answers
 * (httpresp.c), answers requests in order and closes connections that
 * are idle, too slow to send a request or that stop reading. What a
 * request means is the handlers' business: they are given at init and
 * answer through http_respond*. Knows no route, no job and no token.
 * BSP only. */
#ifndef APPLIANCE_HTTP_H
#define APPLIANCE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpreq.h"
#include "outbuf.h"

/* Each connection holds a 12 KiB input buffer (head and body limits) on
 * the heap and one lwIP pcb; lwipopts.h's MEMP_NUM_TCP_PCB covers these,
 * the refused ones and those closing. */
#define HTTP_MAX_CONNS  64
/* Connections beyond HTTP_MAX_CONNS are answered 503 (Retry-After: 1,
 * Connection: close) and closed; at most this many of them are kept
 * until their client closes (HTTP_LINGER_S at most), others are reset. */
#define HTTP_MAX_REFUSING 32
/* The deadlines of a connection's states, in seconds. */
#define HTTP_IDLE_S     20      /* keep-alive, nothing sent: closed (API.md: 10 to 30 s) */
#define HTTP_REQUEST_S  10      /* a request's head and body from its first byte: else 408 */
#define HTTP_SEND_S     20      /* bytes sent and not acknowledged that long: the connection is cut */
#define HTTP_LINGER_S   2       /* after the last answer, the client's bytes dropped this long */
/* Unsent output a connection may hold: an answer, or what a stream's
 * client left unread (then the stream is cut). Above the largest answer
 * (/metrics at 1024 cores, about 330 KiB). */
#define HTTP_OUT_MAX    (512u << 10)
#define HTTP_STREAM_BACKLOG HTTP_OUT_MAX

/* A connection as a handler holds it: stale once the client is gone. */
struct http_conn_ref {
	int slot;               /* 0..HTTP_MAX_CONNS-1 */
	uint32_t gen;
};

struct http_handlers {
	/* A complete request with its body. Answers with http_respond*,
	 * opens a stream, or calls http_wait and answers later; a handler
	 * that does none of these is answered 500 for. */
	void (*request)(struct http_conn_ref ref, const struct http_req *r, const char *body,
			size_t len);
	/* The time given to http_wait passed: answer now (a connection still
	 * waiting after this is closed). */
	void (*wait_expired)(struct http_conn_ref ref);
	/* The connection ended while waiting (the client left or reset, or
	 * stopped reading): whatever would have answered it lets go. */
	void (*wait_dropped)(struct http_conn_ref ref);
};

struct http_stats {
	uint64_t bad;           /* requests refused before a handler saw them */
	uint64_t refused;       /* connections turned away: all HTTP_MAX_CONNS in use */
	uint64_t reset;         /* of those, reset instead of answered 503 */
	uint64_t timed_out;     /* requests answered 408: not in within HTTP_REQUEST_S */
	uint64_t stalled;       /* connections cut: output not acknowledged in HTTP_SEND_S,
				 * or a stream's backlog over HTTP_OUT_MAX */
	uint32_t open;          /* connections now (not counting the refused ones) */
};

void http_init(uint16_t port, const struct http_handlers *h);
/* The answer to the request being handled or waited for; nothing when
 * the connection is gone or answered already. A body too large for
 * HTTP_OUT_MAX becomes a 500. */
void http_respond(struct http_conn_ref ref, int status, const char *ctype, const char *body,
		  size_t body_len, const char *extra_headers);
void http_respond_out(struct http_conn_ref ref, int status, const char *ctype,
		      const struct outbuf *o, const char *extra_headers);
/* {"error":"<msg>"} with that status (API.md: errors are JSON too). */
void http_respond_error(struct http_conn_ref ref, int status, const char *msg,
			const char *extra_headers);
/* The answer comes later (a job's end): the connection reads no further
 * request until it does; after ms milliseconds the handlers'
 * wait_expired is called. Only from the request handler. */
void http_wait(struct http_conn_ref ref, uint32_t ms);
/* Still connected and waiting for its answer. */
bool http_waiting(struct http_conn_ref ref);
void http_stats(struct http_stats *s);

/* Streams (Server-Sent Events, API.md section 3). http_stream_open sends
 * a 200 head with ctype and Connection: close but no Content-Length (the
 * body ends with the connection); from then on the connection reads no
 * request, is never closed as idle, and carries what http_stream_send
 * hands it until either side closes. Open: false when the connection is
 * gone or already answering. Send: false when the stream is gone, or
 * when its client stopped reading (HTTP_OUT_MAX unsent, or nothing
 * acknowledged for HTTP_SEND_S): then it is cut, and an EventSource
 * reconnects. */
bool http_stream_open(struct http_conn_ref ref, const char *ctype, const char *extra_headers);
bool http_stream_send(struct http_conn_ref ref, const char *data, size_t len);
/* Bytes of the stream not yet handed to TCP; SIZE_MAX when it is gone. */
size_t http_stream_pending(struct http_conn_ref ref);
void http_stream_close(struct http_conn_ref ref);

#endif
