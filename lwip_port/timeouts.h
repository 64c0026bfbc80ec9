/* timeouts.h - every lwIP timer decision of the port (timeouts.c), behind
 * the few events net.c reports. BSP only. */
#ifndef LWIP_PORT_TIMEOUTS_H
#define LWIP_PORT_TIMEOUTS_H

#include <stdint.h>

struct netif;
struct pbuf;

/* A frame arrived (before lwIP sees it) / is about to be sent. */
void timeouts_frame_in(const struct pbuf *p);
void timeouts_frame_out(const struct pbuf *p);
/* DHCP was started on n: its timers run while it needs them. */
void timeouts_dhcp_started(struct netif *n);
/* Runs the timeouts that are due; after each pass of the BSP loop. */
void timeouts_run(void);
/* When lwIP next needs the CPU (time_ns clock), or UINT64_MAX. */
uint64_t timeouts_deadline_ns(void);

#endif
