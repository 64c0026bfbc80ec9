/* http.h - the HTTP endpoint on http_port (API.md section 3): the
 * connection layer (http.c) and what the routes (api.c) use of it. */
#ifndef APPLIANCE_HTTP_H
#define APPLIANCE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_req;
struct outbuf;

/* A connection as the routes hold it: stale once the client is gone. */
struct http_conn_ref {
	int slot;
	uint32_t gen;
};

void http_init(uint16_t port);
void http_respond(struct http_conn_ref ref, int status, const char *ctype, const char *body,
		  size_t body_len, const char *extra_headers);
void http_respond_out(struct http_conn_ref ref, int status, const char *ctype,
		      const struct outbuf *o, const char *extra_headers);
void http_respond_error(struct http_conn_ref ref, int status, const char *msg,
			const char *extra_headers);
/* Holds the answer until api_wait_poll or the job's end answers it. */
void http_wait(struct http_conn_ref ref, uint64_t job);
/* Still connected and waiting for this very job. */
bool http_waiting_for(struct http_conn_ref ref, uint64_t job);
bool http_authorized(const struct http_req *r);

#endif
