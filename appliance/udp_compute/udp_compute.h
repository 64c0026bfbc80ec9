/* udp_compute.h - the UDP compute endpoint (API.md section 2). BSP only. */
#ifndef UDP_COMPUTE_H
#define UDP_COMPUTE_H

#include <stdint.h>

struct udp_compute_stats {
	uint64_t bad;           /* datagrams refused as malformed (ERR <reason>) */
	uint64_t busy;          /* ERR busy: the appliance was full */
	uint64_t replies_lost;  /* replies lwIP or the NIC could not send */
};

void udp_compute_init(uint16_t port);
void udp_compute_stats(struct udp_compute_stats *s);

#endif
