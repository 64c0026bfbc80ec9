/* timeouts.c - every lwIP timer decision of the port, in one place.
 *
 * lwIP's timeout API (lwip/timeouts.h) with LWIP_TIMERS_CUSTOM: the same
 * calls, but no cyclic timer is ever started. One-shot timeouts sit in a
 * list sorted by due time; timeouts_deadline_ns() tells the BSP when to
 * arm its one-shot LAPIC timer (with nothing pending, none is armed).
 * lwIP's stock timeouts.c arms ARP (1 s), IP reassembly (1 s), DHCP
 * (500 ms and 60 s) and TCP (250 ms) timers forever, which would wake an
 * idle appliance several times a second. Here each runs only while it has
 * work, decided from the events net.c reports:
 *  - TCP's timer while a connection needs it: half-open (SYN-RECEIVED, so
 *    tcp_guard.c can give it up), in TIME-WAIT or any state but
 *    established, or with data unacknowledged, an ACK owed or a tcp_poll
 *    callback; it stops while every connection is quiet (checked after
 *    each pass of the BSP loop), so an open idle connection costs no
 *    wake-up.
 *  - ARP's tick for NET_ARP_LINGER_MS after an ARP request went out (a
 *    pending query, or a stable entry in use being refreshed: they need
 *    the tick to be retried and to expire); otherwise the ticks are run
 *    late, when a frame comes or goes, as many as the wall clock says were
 *    due, so entries age as lwIP intends while an exchange with a known
 *    peer (an event stream's comment every 15 s) costs no ARP wake-up.
 *  - IP reassembly's tick for NET_REASS_LINGER_MS after a fragment came.
 *  - DHCP's fine timer while a DHCP exchange is under way, its coarse
 *    timer (lease renewal) once a minute while DHCP runs.
 * Frames are read with lwIP's own header structs. Only the BSP calls
 * these. */
#include "timeouts.h"

#include <stdbool.h>

#include "lwip/opt.h"

#include "../kernel/time.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/ip4_frag.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/dhcp.h"
#include "lwip/prot/etharp.h"
#include "lwip/prot/ethernet.h"
#include "lwip/prot/ip4.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"
#include "tcp_guard.h"

#if !LWIP_TIMERS_CUSTOM
#error "lwipopts.h must set LWIP_TIMERS_CUSTOM: this file replaces lwIP's timeouts.c"
#endif

#define TIMEOUTS_MAX 24
#define TIMEOUT_MAX_MS 0x7fffffff        /* half the u32 clock: wrap-safe compare */
#define NET_ARP_LINGER_MS   10000
#define NET_REASS_LINGER_MS ((IP_REASS_MAXAGE + 5) * IP_TMR_INTERVAL)

/* ---- lwIP's timeout API ---- */

struct timeo {
	struct timeo *next;
	u32_t time;                     /* sys_now() when due */
	sys_timeout_handler handler;
	void *arg;
};

static struct timeo pool[TIMEOUTS_MAX];
static struct timeo *free_list, *pending;

/* Wrap-safe: a is before b. */
static int before(u32_t a, u32_t b)
{
	return (s32_t)(a - b) < 0;
}

static void tcp_timer_reset(void);

void sys_timeouts_init(void)
{
	free_list = NULL;
	pending = NULL;
	tcp_timer_reset();
	for (int i = TIMEOUTS_MAX - 1; i >= 0; i--) {
		pool[i].next = free_list;
		free_list = &pool[i];
	}
}

#if LWIP_DEBUG_TIMERNAMES
void sys_timeout_debug(u32_t msecs, sys_timeout_handler handler, void *arg, const char *name)
#else
void sys_timeout(u32_t msecs, sys_timeout_handler handler, void *arg)
#endif
{
	LWIP_ASSERT("sys_timeout: timeout too long", msecs <= TIMEOUT_MAX_MS);
	struct timeo *t = free_list;
	LWIP_ASSERT("sys_timeout: no free timeout (raise TIMEOUTS_MAX)", t != NULL);
	free_list = t->next;
	t->time = sys_now() + msecs;
	t->handler = handler;
	t->arg = arg;
	struct timeo **pp = &pending;
	while (*pp && !before(t->time, (*pp)->time))
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
}

void sys_untimeout(sys_timeout_handler handler, void *arg)
{
	for (struct timeo **pp = &pending; *pp; pp = &(*pp)->next) {
		struct timeo *t = *pp;
		if (t->handler == handler && t->arg == arg) {
			*pp = t->next;
			t->next = free_list;
			free_list = t;
			return;
		}
	}
}

void sys_check_timeouts(void)
{
	/* The pool ran dry meanwhile: free out-of-order segments (what
	 * lwIP's own timeouts.c does here). */
	PBUF_CHECK_FREE_OOSEQ();
	for (;;) {
		struct timeo *t = pending;
		if (!t || before(sys_now(), t->time))
			return;
		pending = t->next;
		sys_timeout_handler h = t->handler;
		void *arg = t->arg;
		t->next = free_list;
		free_list = t;
		h(arg);         /* may add timeouts, including this one again */
	}
}

u32_t sys_timeouts_sleeptime(void)
{
	if (!pending)
		return SYS_TIMEOUTS_SLEEPTIME_INFINITE;
	u32_t now = sys_now();
	return before(now, pending->time) ? pending->time - now : 0;
}

void sys_restart_timeouts(void)
{
}

/* ---- TCP ---- */

static bool tcp_timer_active;

static void tcp_timer_reset(void)
{
	tcp_timer_active = false;
}

/* A connection that needs none of TCP's timer: established, everything
 * sent and acknowledged, no ACK owed, nothing out of order or refused by
 * the application, no zero window to probe, and no tcp_poll callback
 * asked for. An open Server-Sent Events stream sits like this between
 * its events; lwIP's timer would still run every 250 ms for it. A
 * half-open connection is never quiet: its lifetime is counted in the
 * timer's ticks. */
static bool tcp_pcb_quiet(const struct tcp_pcb *pcb)
{
	return pcb->state == ESTABLISHED && !pcb->unsent && !pcb->unacked &&
#if TCP_QUEUE_OOSEQ
	       !pcb->ooseq &&
#endif
	       !pcb->refused_data && !pcb->poll && pcb->persist_backoff == 0 &&
	       !(pcb->flags & (TF_ACK_DELAY | TF_ACK_NOW | TF_CLOSEPEND | TF_NAGLEMEMERR | TF_RTO));
}

static bool tcp_timer_wanted(void)
{
	if (tcp_tw_pcbs)
		return true;
	for (const struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		if (!tcp_pcb_quiet(pcb))
			return true;
	return false;
}

static void tcp_timer(void *arg)
{
	(void)arg;
	tcp_tmr();
	tcp_guard_expire();
	tcp_timer_active = tcp_timer_wanted();
	if (tcp_timer_active)
		sys_timeout(TCP_TMR_INTERVAL, tcp_timer, NULL);
}

/* Called by lwIP when a connection becomes active. */
void tcp_timer_needed(void)
{
	if (!tcp_timer_active && (tcp_active_pcbs || tcp_tw_pcbs)) {
		tcp_timer_active = true;
		sys_timeout(TCP_TMR_INTERVAL, tcp_timer, NULL);
	}
}

/* Starts TCP's timer when a connection needs it, stops it when every
 * connection is quiet. */
static void tcp_timer_settle(void)
{
	bool wanted = tcp_timer_wanted();
	if (wanted && !tcp_timer_active) {
		tcp_timer_active = true;
		sys_timeout(TCP_TMR_INTERVAL, tcp_timer, NULL);
	} else if (!wanted && tcp_timer_active) {
		sys_untimeout(tcp_timer, NULL);
		tcp_timer_active = false;
	}
}

/* ---- ARP ---- */

static bool arp_armed;
static u32_t arp_query_ms, arp_last_tick_ms;

static void arp_tick(void *arg)
{
	(void)arg;
	etharp_tmr();
	arp_last_tick_ms += ARP_TMR_INTERVAL;
	arp_armed = sys_now() - arp_query_ms < NET_ARP_LINGER_MS;
	if (arp_armed)
		sys_timeout(ARP_TMR_INTERVAL, arp_tick, NULL);
}

/* The ARP ticks that came due while none ran (beyond ARP_MAXAGE more
 * make no difference): before lwIP looks at the table. */
static void arp_catch_up(void)
{
	if (arp_armed)
		return;
	u32_t now = sys_now();
	u32_t missed = (now - arp_last_tick_ms) / ARP_TMR_INTERVAL;
	if (missed > ARP_MAXAGE + 1) {
		missed = ARP_MAXAGE + 1;
		arp_last_tick_ms = now;
	} else {
		arp_last_tick_ms += missed * ARP_TMR_INTERVAL;
	}
	while (missed--)
		etharp_tmr();
}

/* An ARP request in an outgoing frame: the tick runs again. */
static bool arp_request(const struct pbuf *p)
{
	if (p->len < SIZEOF_ETH_HDR + SIZEOF_ETHARP_HDR)
		return false;
	const struct eth_hdr *eth = p->payload;
	const struct etharp_hdr *arp =
		(const struct etharp_hdr *)((const u8_t *)p->payload + SIZEOF_ETH_HDR);
	return eth->type == PP_HTONS(ETHTYPE_ARP) && arp->opcode == PP_HTONS(ARP_REQUEST);
}

static void arp_note_query(void)
{
	u32_t now = sys_now();
	arp_query_ms = now;
	if (!arp_armed) {
		arp_armed = true;
		u32_t since = now - arp_last_tick_ms;   /* < ARP_TMR_INTERVAL */
		sys_timeout(ARP_TMR_INTERVAL - since, arp_tick, NULL);
	}
}

/* ---- IP reassembly ---- */

static bool reass_armed;
static u32_t reass_until_ms;

static void reass_tick(void *arg)
{
	(void)arg;
	ip_reass_tmr();
	reass_armed = (s32_t)(reass_until_ms - sys_now()) > 0;
	if (reass_armed)
		sys_timeout(IP_TMR_INTERVAL, reass_tick, NULL);
}

/* An IPv4 fragment: more fragments follow, or its offset is not 0. */
static bool ip_fragment(const struct pbuf *p)
{
	if (p->len < SIZEOF_ETH_HDR + IP_HLEN)
		return false;
	const struct eth_hdr *eth = p->payload;
	const struct ip_hdr *iph =
		(const struct ip_hdr *)((const u8_t *)p->payload + SIZEOF_ETH_HDR);
	return eth->type == PP_HTONS(ETHTYPE_IP) &&
	       (IPH_OFFSET(iph) & PP_HTONS(IP_MF | IP_OFFMASK)) != 0;
}

static void reass_note_fragment(void)
{
	reass_until_ms = sys_now() + NET_REASS_LINGER_MS;
	if (!reass_armed) {
		reass_armed = true;
		sys_timeout(IP_TMR_INTERVAL, reass_tick, NULL);
	}
}

/* ---- DHCP ---- */

static struct netif *dhcp_netif;
static bool dhcp_fine_armed;

static bool dhcp_busy(void)
{
	struct dhcp *d = netif_dhcp_data(dhcp_netif);
	return d && d->state != DHCP_STATE_OFF && d->state != DHCP_STATE_BOUND;
}

static void dhcp_fine_tick(void *arg)
{
	(void)arg;
	dhcp_fine_tmr();
	dhcp_fine_armed = dhcp_busy();
	if (dhcp_fine_armed)
		sys_timeout(DHCP_FINE_TIMER_MSECS, dhcp_fine_tick, NULL);
}

static void dhcp_arm_fine(void)
{
	if (!dhcp_fine_armed && dhcp_busy()) {
		dhcp_fine_armed = true;
		sys_timeout(DHCP_FINE_TIMER_MSECS, dhcp_fine_tick, NULL);
	}
}

static void dhcp_coarse_tick(void *arg)
{
	(void)arg;
	struct dhcp *d = netif_dhcp_data(dhcp_netif);
	if (!d || d->state == DHCP_STATE_OFF)
		return;
	dhcp_coarse_tmr();
	dhcp_arm_fine();        /* a renewal needs the fine timer again */
	sys_timeout(DHCP_COARSE_TIMER_MSECS, dhcp_coarse_tick, NULL);
}

/* ---- the events ---- */

void timeouts_frame_in(const struct pbuf *p)
{
	arp_catch_up();
	if (ip_fragment(p))
		reass_note_fragment();
}

void timeouts_frame_out(const struct pbuf *p)
{
	arp_catch_up();
	if (arp_request(p))
		arp_note_query();
}

void timeouts_dhcp_started(struct netif *n)
{
	dhcp_netif = n;
	dhcp_arm_fine();
	sys_timeout(DHCP_COARSE_TIMER_MSECS, dhcp_coarse_tick, NULL);
}

void timeouts_run(void)
{
	arp_catch_up();         /* timeouts below may send */
	sys_check_timeouts();
	tcp_timer_settle();
}

uint64_t timeouts_deadline_ns(void)
{
	tcp_timer_settle();     /* answers sent after the last run may need TCP's timer */
	u32_t ms = sys_timeouts_sleeptime();
	if (ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE)
		return UINT64_MAX;
	/* +1 ms: sys_now() truncates, so a deadline on the exact millisecond
	 * could find the timeout not yet due and cost a second wake-up. */
	return time_ns() + ((uint64_t)ms + 1) * 1000000;
}
