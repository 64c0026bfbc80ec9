/* tcp_guard.c - TCP's half-open connections under a spoofed SYN flood.
 * Each SYN to a listener makes lwIP take a pcb, answer SYN-ACK, and keep
 * the pcb in SYN-RECEIVED until the ACK comes; spoofed SYNs never ACK.
 * Without bounds, 130 of them held every pcb for lwIP's 20 s and a real
 * client's SYN got no answer at all. Three bounds, with lwIP's options and
 * hooks and no change to lwIP:
 *  - lwIP's listen backlog (TCP_LISTEN_BACKLOG): a listener has at most
 *    `backlog` connections not yet accepted; http.c accepts each as it is
 *    established (never tcp_backlog_delayed), so these are exactly the
 *    half-open ones (TCP_DEFAULT_LISTEN_BACKLOG, 32, lwipopts.h). The
 *    rest of the pcb pool stays for established connections.
 *  - recycling: a SYN that finds the backlog full, or the pcb pool empty
 *    with nothing lwIP's tcp_alloc would take (TIME-WAIT, LAST-ACK,
 *    CLOSING), takes the place of the oldest half-open connection instead
 *    of being dropped (RFC 4987 section 3.4, "recycling the oldest
 *    half-open TCB"). Under a flood each half-open connection then lasts
 *    backlog / SYN rate (32 / 200 per s = 160 ms): a real client's ACK
 *    comes one round trip after the SYN-ACK and wins. Established
 *    connections are never taken.
 *  - lifetime: a half-open connection is given up after
 *    TCP_GUARD_SYN_RCVD_TICKS (tcp_guard.h), before lwIP would send its
 *    SYN-ACK again.
 * Each one given up, and each SYN refused, is counted (net_stats).
 *
 * And one bound lwIP lacks after a close: a connection the application
 * closed (tcp_guard_close) with bytes unacknowledged is reset once it has
 * waited TCP_GUARD_CLOSED_TICKS for them. Those and the
 * connections the HTTP layer cuts are reset where a peer whose window is
 * shut takes the RST (tcp_guard_reset).
 * BSP only, from lwIP's input path, TCP's timer and the HTTP layer. */
#include "tcp_guard.h"

#include <stdbool.h>

#include "lwip/opt.h"

#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip_hooks.h"

#if !TCP_LISTEN_BACKLOG
#error "lwipopts.h must set TCP_LISTEN_BACKLOG: it bounds the half-open connections"
#endif
#if !MEMP_STATS
#error "lwipopts.h must set MEMP_STATS: tcp_guard.c reads how many pcbs are free"
#endif

static struct tcp_guard_stats stats;

/* The oldest half-open connection, of lpcb or (lpcb NULL) of any
 * listener. New pcbs go to the head of tcp_active_pcbs and a pcb that
 * receives a segment is moved there, so the last one is the one that has
 * waited longest; pcb->tmr says the same in 500 ms ticks. */
static struct tcp_pcb *oldest_half_open(const struct tcp_pcb_listen *lpcb)
{
	struct tcp_pcb *oldest = NULL;
	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		if (pcb->state == SYN_RCVD && (!lpcb || pcb->listener == lpcb))
			oldest = pcb;
	return oldest;
}

/* What tcp_alloc would take before failing (lwIP 2.1 tcp.c, tcp_alloc). */
static bool pool_recyclable(void)
{
	if (tcp_tw_pcbs)
		return true;
	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		if (pcb->state == LAST_ACK || pcb->state == CLOSING)
			return true;
	return false;
}

static bool pool_empty(void)
{
	const struct stats_mem *m = lwip_stats.memp[MEMP_TCP_PCB];
	return m->used >= m->avail;
}

/* LWIP_HOOK_TCP_INPACKET_PCB: every segment, once lwIP found its pcb.
 * lwIP asks hooks not to change pcb lists, because of the list walks in
 * tcp_input; for a listener that walk is over (the hook runs right before
 * tcp_listen_input, which keeps no pointer into tcp_active_pcbs), and the
 * pcb given up is a half-open one: never accepted, so no callback of the
 * application runs (its errf is NULL), and no RST is sent (a spoofed
 * source needs none; a real client's late ACK gets one from the listener). */
err_t tcp_guard_inpacket(struct tcp_pcb *pcb, struct tcp_hdr *hdr, u16_t optlen, u16_t opt1len,
			 u8_t *opt2, struct pbuf *p)
{
	(void)optlen;
	(void)opt1len;
	(void)opt2;
	(void)p;
	u8_t flags = TCPH_FLAGS(hdr);
	/* What tcp_listen_input makes a new connection of: SYN, no RST or ACK. */
	if (pcb->state != LISTEN || !(flags & TCP_SYN) || (flags & (TCP_RST | TCP_ACK)))
		return ERR_OK;
	struct tcp_pcb_listen *lpcb = (struct tcp_pcb_listen *)pcb;
	struct tcp_pcb *victim = NULL;
	if (lpcb->accepts_pending >= lpcb->backlog) {
		victim = oldest_half_open(lpcb);
		if (!victim) {
			/* every pending one is established, delayed by the
			 * application: lwIP drops this SYN */
			stats.refused++;
			return ERR_OK;
		}
	} else if (pool_empty() && !pool_recyclable()) {
		victim = oldest_half_open(NULL);
		if (!victim) {
			stats.refused++;        /* tcp_alloc will fail */
			return ERR_OK;
		}
	}
	if (victim) {
		stats.recycled++;
		tcp_abandon(victim, 0);
	}
	return ERR_OK;
}

static bool waits_after_close(const struct tcp_pcb *pcb)
{
	return (pcb->state == FIN_WAIT_1 || pcb->state == CLOSING || pcb->state == LAST_ACK) &&
	       (pcb->unacked || pcb->unsent);
}

/* pcb->tmr from here on is the time of the close: lwIP moves it on each
 * segment received, but not once the pcb is closed (TF_RXCLOSED), and
 * reads it only for timeouts that start at a close anyway (FIN-WAIT-2,
 * LAST-ACK) and to pick the oldest pcb to take when the pool is empty. */
bool tcp_guard_close(struct tcp_pcb *pcb)
{
	pcb->tmr = tcp_ticks;
	return tcp_close(pcb) == ERR_OK;
}

static void send_rst(const struct tcp_pcb *pcb, u32_t seq)
{
	tcp_rst(pcb, seq, pcb->rcv_nxt, &pcb->local_ip, &pcb->remote_ip, pcb->local_port,
		pcb->remote_port);
}

void tcp_guard_reset(struct tcp_pcb *pcb)
{
	u32_t edge = pcb->lastack + pcb->snd_wnd;
	u32_t seq = TCP_SEQ_GT(pcb->snd_nxt, edge) ? edge : pcb->snd_nxt;
	send_rst(pcb, pcb->lastack);
	if (seq != pcb->lastack)
		send_rst(pcb, seq);
	tcp_abandon(pcb, 0);    /* as tcp_abort, less its RST */
}

void tcp_guard_expire(void)
{
again:
	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next) {
		u32_t waited = tcp_ticks - pcb->tmr;
		if (pcb->state == SYN_RCVD && waited >= TCP_GUARD_SYN_RCVD_TICKS) {
			stats.expired++;
			tcp_abandon(pcb, 0);
			goto again;     /* the list changed under us */
		}
		if (waits_after_close(pcb) && waited >= TCP_GUARD_CLOSED_TICKS) {
			stats.closed_cut++;
			tcp_guard_reset(pcb);   /* no callback: the application let go */
			goto again;
		}
	}
}

void tcp_guard_stats(struct tcp_guard_stats *s)
{
	*s = stats;
}
