/* tcp_isn.h - RFC 6528 initial sequence numbers for lwIP's TCP (the
 * function itself is lwIP's LWIP_HOOK_TCP_ISN, lwip_hooks.h). */
#ifndef LWIP_PORT_TCP_ISN_H
#define LWIP_PORT_TCP_ISN_H

/* Draws the secret key (kernel/entropy.h). Once, at net_init, before any
 * connection. */
void tcp_isn_init(void);

#endif
