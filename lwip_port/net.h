/* net.h - the network as the services see it: lwIP brought up on a
 * netdev, run from the BSP loop. Only the BSP calls these. */
#ifndef LWIP_PORT_NET_H
#define LWIP_PORT_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "../drivers/netdev.h"

/* Brings up lwIP on nd with the ip= option (DHCP by default, falling back
 * to 10.0.2.15/24 gw 10.0.2.2 after NET_DHCP_FALLBACK_MS without a lease). */
void net_init(struct netdev *nd, const char *ip_option);
/* Drains received frames and runs due lwIP timeouts. */
void net_poll(void);
/* When lwIP next needs the CPU (time_ns clock), or UINT64_MAX. */
uint64_t net_next_deadline_ns(void);
struct net_stats {
	bool present;           /* a NIC was found */
	bool link_up;
	struct netdev_stats dev;
	/* lwIP's pools and heap: in use now, and how often one ran dry. */
	uint32_t pbuf_pool_used, pbuf_pool_size, pbuf_pool_err;
	uint32_t tcp_pcbs_used, tcp_segs_used, arp_queue_used;
	uint32_t heap_used, heap_size;
	/* Packets lwIP dropped, by layer (ARP: also unresolved-queue drops). */
	uint64_t arp_drops, ip_drops, udp_drops, tcp_drops;
	/* Half-open TCP connections given up (for a newer SYN, or past their
	 * lifetime) and SYNs refused: lwip_port/tcp_guard.c. */
	uint64_t tcp_half_open_drops;
	uint64_t tcp_closed_cut;        /* closed with bytes unacknowledged 20 s: reset */
};
void net_stats(struct net_stats *s);
/* The address in use, host order, 0 while none. */
uint32_t net_addr(void);
const char *net_addr_source(void);     /* "dhcp", "static", "fallback", "none" */

#define NET_DHCP_FALLBACK_MS 4000

#endif
