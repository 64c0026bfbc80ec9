/* lwip_hooks.h - the port's functions behind lwIP's hooks (lwIP 2.1
 * src/include/lwip/opt.h, "Hooks"); lwipopts.h names this file as
 * LWIP_HOOK_FILENAME, so lwIP's own sources include it. */
#ifndef LWIP_PORT_LWIP_HOOKS_H
#define LWIP_PORT_LWIP_HOOKS_H

#include "lwip/arch.h"
#include "lwip/err.h"
#include "lwip/ip_addr.h"

struct tcp_pcb;
struct tcp_hdr;
struct pbuf;

/* tcp_isn.c: RFC 6528 initial sequence numbers. */
u32_t tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
	      u16_t remote_port);
#define LWIP_HOOK_TCP_ISN tcp_isn

/* tcp_guard.c: a SYN for a listener whose half-open connections are at
 * their bound takes the place of the oldest one. */
err_t tcp_guard_inpacket(struct tcp_pcb *pcb, struct tcp_hdr *hdr, u16_t optlen, u16_t opt1len,
			 u8_t *opt2, struct pbuf *p);
#define LWIP_HOOK_TCP_INPACKET_PCB tcp_guard_inpacket

#endif
