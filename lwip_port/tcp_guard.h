/* tcp_guard.h - half-open TCP connections under a SYN flood: bounded,
 * short-lived, and counted. BSP only. */
#ifndef LWIP_PORT_TCP_GUARD_H
#define LWIP_PORT_TCP_GUARD_H

#include <stdbool.h>
#include <stdint.h>

/* A half-open connection (SYN-RECEIVED) is given up after this many of
 * TCP's slow ticks (TCP_SLOW_INTERVAL, 500 ms) without a segment from its
 * peer: 2 to 2.5 s, less than the 3 s of lwIP's first SYN-ACK
 * retransmission, so a spoofed SYN costs one SYN-ACK. lwIP's own limit
 * (TCP_SYN_RCVD_TIMEOUT, 20 s) is not an option. A real client whose
 * SYN-ACK was lost sends its SYN again within that time (Linux after 1 s),
 * which lwIP answers with the SYN-ACK again and which restarts the count. */
#define TCP_GUARD_SYN_RCVD_TICKS 5

/* A connection the application closed with bytes still unacknowledged
 * (FIN-WAIT-1, CLOSING, LAST-ACK) is reset after this many slow ticks:
 * 20 s. A peer that never reads but answers lwIP's zero-window probes
 * would otherwise keep it, and its send buffer of lwIP's heap, for good
 * (lwIP has no timeout there, and each answer restarts its probe count). */
#define TCP_GUARD_CLOSED_TICKS 40

struct tcp_guard_stats {
	uint64_t recycled;      /* half-open ones given up for a newer SYN */
	uint64_t expired;       /* half-open ones past TCP_GUARD_SYN_RCVD_TICKS */
	uint64_t refused;       /* SYNs that found no half-open one to replace */
	uint64_t closed_cut;    /* closed ones reset past TCP_GUARD_CLOSED_TICKS */
};

/* tcp_abort, with RSTs where the peer takes them. lwIP resets once, at
 * snd_nxt: each zero-window probe has moved that one byte past the
 * peer's shut window, and a window the peer shrank may end before it,
 * where its TCP (BSD's, Linux's, QEMU's slirp) drops the RST as out of
 * window and keeps its end open for good, its reader waiting on a
 * connection that no longer exists. So: one RST at snd_una, which a
 * peer that acknowledged all it got takes (Linux: seq == rcv_nxt) and a
 * BSD-derived one always takes (left of its window); then, when that is
 * not the same, one at snd_nxt, or at the window's right edge when
 * snd_nxt is past it (as Linux's tcp_acceptable_seq), which a peer
 * inside whose window it falls takes or answers with a challenge ACK
 * that lwIP, knowing the connection no more, answers with a RST at
 * exactly the ACK's number. For the connections the appliance cuts:
 * peers that stopped reading. */
struct tcp_pcb;
void tcp_guard_reset(struct tcp_pcb *pcb);
/* tcp_close, and the start of the connection's TCP_GUARD_CLOSED_TICKS.
 * False: no memory for the FIN, the pcb is still the caller's. */
bool tcp_guard_close(struct tcp_pcb *pcb);

/* Gives up the half-open connections past their lifetime, and resets the
 * closed ones whose bytes are still not acknowledged past theirs. On each
 * of TCP's ticks (timeouts.c), which run while any connection is
 * half-open or has bytes in flight. */
void tcp_guard_expire(void);
void tcp_guard_stats(struct tcp_guard_stats *s);

#endif
