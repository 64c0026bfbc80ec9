/* lwip_hooks.h - the port's functions behind lwIP's hooks (lwIP 2.1
 * src/include/lwip/opt.h, "Hooks"); lwipopts.h names this file as
 * LWIP_HOOK_FILENAME, so lwIP's own sources include it. */
#ifndef LWIP_PORT_LWIP_HOOKS_H
#define LWIP_PORT_LWIP_HOOKS_H

#include "lwip/arch.h"
#include "lwip/ip_addr.h"

/* tcp_isn.c: RFC 6528 initial sequence numbers. */
u32_t tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
	      u16_t remote_port);
#define LWIP_HOOK_TCP_ISN tcp_isn

#endif
