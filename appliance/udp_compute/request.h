/* request.h - the UDP compute request of API.md section 2:
 *   <limit> [<tasks> [repeat|split]]
 * ASCII, at most 512 bytes with the newline, fields separated by spaces or
 * tabs, leading/trailing blanks and a final \n or \r\n allowed, plain
 * decimal digits (leading zeros allowed), lower-case mode. Pure. */
#ifndef UDP_COMPUTE_REQUEST_H
#define UDP_COMPUTE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define REQUEST_MAX_BYTES 512

struct request {
	uint64_t limit;
	uint32_t tasks;         /* default 1 */
	int split;              /* 0 repeat (default), 1 split */
};

/* NULL when the request is valid, else the reason for "ERR <reason>". */
const char *request_parse(const char *buf, size_t len, struct request *req);

#endif
