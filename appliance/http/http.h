/* http.h - the HTTP endpoint on http_port (API.md section 3). */
#ifndef APPLIANCE_HTTP_H
#define APPLIANCE_HTTP_H

#include <stdint.h>

void http_init(uint16_t port);

#endif
