/* api.h - the routes of API.md section 3. */
#ifndef APPLIANCE_API_H
#define APPLIANCE_API_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct http_req;

void api_dispatch(struct http_conn_ref ref, const struct http_req *r, const char *body, size_t len);
/* Every 500 ms while a ?wait=1 answer is pending. */
void api_wait_poll(struct http_conn_ref ref, uint64_t job);

#endif
