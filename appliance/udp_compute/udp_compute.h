/* udp_compute.h - the UDP compute endpoint (API.md section 2). */
#ifndef UDP_COMPUTE_H
#define UDP_COMPUTE_H

#include <stdint.h>

void udp_compute_init(uint16_t port);

#endif
