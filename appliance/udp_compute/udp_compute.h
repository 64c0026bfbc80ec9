/* udp_compute.h - the UDP compute endpoint (API.md section 2). BSP only. */
#ifndef UDP_COMPUTE_H
#define UDP_COMPUTE_H

#include <stdint.h>

struct udp_compute_stats {
	uint64_t bad;           /* datagrams refused as malformed (ERR <reason>) */
	uint64_t busy;          /* ERR busy: the appliance was full */
	uint64_t replies_lost;  /* replies lwIP or the NIC could not send */
	uint64_t denied;        /* datagrams from outside udp_allow=, dropped unanswered */
	uint64_t too_big;       /* ERR too much work: over max_job_s */
};

struct ipnets;
/* allowed: the udp_allow= networks (kept, not copied); NULL or empty:
 * every source. */
void udp_compute_init(uint16_t port, const struct ipnets *allowed);
void udp_compute_stats(struct udp_compute_stats *s);

#endif
