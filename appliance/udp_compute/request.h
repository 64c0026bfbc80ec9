/* request.h - the UDP compute request of API.md section 2:
 *   <limit> [<tasks> [repeat|split]]
 * ASCII, at most 512 bytes with the newline, fields separated by spaces or
 * tabs, leading/trailing blanks and a final \n or \r\n allowed, plain
 * decimal digits (leading zeros allowed), lower-case mode. Pure. */
#ifndef UDP_COMPUTE_REQUEST_H
#define UDP_COMPUTE_REQUEST_H

#include <stddef.h>

#include "../jobs/jobs.h"

#define REQUEST_MAX_BYTES 512

/* NULL when the request is a valid job spec, else the reason for
 * "ERR <reason>". */
const char *request_parse(const char *buf, size_t len, struct job_spec *spec);

#endif
