/* timeouts.h - what the port's timeouts.c adds to lwIP's timeout API. */
#ifndef LWIP_PORT_TIMEOUTS_H
#define LWIP_PORT_TIMEOUTS_H

/* Starts TCP's 250 ms timer when a connection needs it, stops it when
 * every connection is quiet. BSP only, after its protocol work. */
void tcp_timer_settle(void);

#endif
