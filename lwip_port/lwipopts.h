/* lwipopts.h - lwIP configuration (lwIP 2.1 src/include/lwip/opt.h lists
 * every option). NO_SYS with the raw API: lwIP runs on the BSP only and
 * no other core ever calls into it, so no locking is configured. */
#ifndef LWIPOPTS_H
#define LWIPOPTS_H

#define NO_SYS                  1
#define SYS_LIGHTWEIGHT_PROT    0       /* interrupt handlers never touch lwIP */
#define LWIP_SOCKET             0
#define LWIP_NETCONN            0
#define LWIP_TIMERS             1
#define LWIP_TIMERS_CUSTOM      1       /* lwip_port/timeouts.c: no cyclic timers */
/* The port's functions behind lwIP's hooks: RFC 6528 ISNs (tcp_isn.c),
 * half-open connections recycled under a SYN flood (tcp_guard.c). */
#define LWIP_HOOK_FILENAME      "lwip_hooks.h"

/* Memory: lwIP's own heap and pools, sized for 64 HTTP connections and a
 * burst of UDP requests; kept small enough for -m 8M. */
#define MEM_ALIGNMENT           8
#define MEM_SIZE                (192 * 1024)
#define MEMP_NUM_PBUF           64
#define MEMP_NUM_UDP_PCB        8
/* TCP pcbs: http.c's 64 connections (HTTP_MAX_CONNS), up to 32 refused
 * ones being answered 503 (HTTP_MAX_REFUSING), 32 more for those
 * closing (FIN_WAIT, LAST_ACK) or in TIME-WAIT, and the half-open ones,
 * at most the listen backlog (below); when the pool is empty lwIP takes
 * the oldest TIME-WAIT one for a new connection. */
#define MEMP_NUM_TCP_PCB        (128 + TCP_DEFAULT_LISTEN_BACKLOG)
#define MEMP_NUM_TCP_PCB_LISTEN 4
#define MEMP_NUM_TCP_SEG        256     /* a few unacknowledged segments per connection */
#define PBUF_POOL_SIZE          96
#define PBUF_POOL_BUFSIZE       1536
/* Out-of-order TCP segments each hold a pool pbuf until the gap is filled
 * or TCP_OOSEQ_TIMEOUT RTOs pass: a client that sends only out-of-order
 * bytes could keep the whole pool, and every frame (UDP, ARP, DHCP) is then
 * dropped. Each connection may keep a few; when the pool still runs dry,
 * the out-of-order queues are freed (net.c, timeouts.c). */
#define TCP_OOSEQ_MAX_PBUFS     4
#define TCP_OOSEQ_MAX_BYTES     (4 * TCP_MSS)
/* Packets waiting for ARP: a burst of replies to a peer whose entry
 * expired must all go out once it resolves, not only the last one. */
#define ARP_QUEUEING            1
#define ARP_QUEUE_LEN           64
#define MEMP_NUM_ARP_QUEUE      64

#define LWIP_IPV4               1
#define LWIP_IPV6               0
#define LWIP_ARP                1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define LWIP_ICMP               1
#define LWIP_RAW                0
#define LWIP_UDP                1
#define LWIP_TCP                1
#define LWIP_DHCP               1
#define LWIP_DHCP_DOES_ACD_CHECK 0
#define DHCP_DOES_ARP_CHECK     0       /* take the lease at once */
#define LWIP_AUTOIP             0
#define LWIP_IGMP               0
#define LWIP_DNS                0
#define IP_REASSEMBLY           1
#define IP_FRAG                 1

#define TCP_MSS                 1460
#define TCP_WND                 (8 * TCP_MSS)
#define TCP_SND_BUF             (8 * TCP_MSS)
#define TCP_SND_QUEUELEN        (4 * TCP_SND_BUF / TCP_MSS)
/* A listener keeps at most its backlog of connections not yet accepted;
 * http.c accepts each at once (tcp_listen: this default), so these are
 * the half-open ones, which a spoofed SYN flood makes. tcp_guard.c
 * recycles the oldest for each new SYN beyond the backlog and gives them
 * up after 2-2.5 s: under a flood of R SYNs a second each lasts 32 / R
 * (160 ms at 200/s), many round trips for a real client to answer its
 * SYN-ACK. http.c caps the established ones. */
#define TCP_LISTEN_BACKLOG      1
#define TCP_DEFAULT_LISTEN_BACKLOG 32
#define LWIP_TCP_KEEPALIVE      0
/* TIME-WAIT lasts 2 x TCP_MSL, and TCP's timer ticks 4 times a second as
 * long as one connection is in it: lwIP's 60 s default would keep an idle
 * appliance waking for two minutes after each closed HTTP connection.
 * One second each way is ample on the links an appliance serves. */
#define TCP_MSL                 1000UL

#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK   1
#define LWIP_NETIF_HOSTNAME     1

#define LWIP_STATS              1
#define LWIP_STATS_DISPLAY      0
#define MEM_STATS               1
#define MEMP_STATS              1
#define LINK_STATS              1
#define ETHARP_STATS            1
#define IP_STATS                1
#define UDP_STATS               1
#define TCP_STATS               1

#define CHECKSUM_GEN_IP         1
#define CHECKSUM_GEN_UDP        1
#define CHECKSUM_GEN_TCP        1
#define CHECKSUM_CHECK_IP       1
#define CHECKSUM_CHECK_UDP      1
#define CHECKSUM_CHECK_TCP      1

#define LWIP_DEBUG              0

#endif
