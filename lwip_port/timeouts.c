/* timeouts.c - lwIP's timeout API (lwip/timeouts.h) with LWIP_TIMERS_CUSTOM:
 * the same calls, but no cyclic timer is ever started. lwIP's stock
 * version arms ARP, IP reassembly and DHCP timers that fire every 0.5-1 s
 * forever, which would wake an idle appliance several times a second;
 * net.c arms those on demand instead. TCP's timer runs while a
 * connection needs it: in TIME-WAIT or any state but established, or with
 * data unacknowledged, an ACK owed or a tcp_poll callback; it stops while
 * every connection is quiet (tcp_timer_settle, after each pass of the
 * BSP loop), so an open idle connection costs no wake-up. One-shot timeouts sit in a
 * list sorted by due time; sys_timeouts_sleeptime() tells the BSP when to
 * arm its one-shot LAPIC timer. Only the BSP calls these. */
#include "lwip/opt.h"

#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"
#include "timeouts.h"

#if !LWIP_TIMERS_CUSTOM
#error "lwipopts.h must set LWIP_TIMERS_CUSTOM: this file replaces lwIP's timeouts.c"
#endif

#define TIMEOUTS_MAX 24
#define TIMEOUT_MAX_MS 0x7fffffff        /* half the u32 clock: wrap-safe compare */

struct timeo {
	struct timeo *next;
	u32_t time;                     /* sys_now() when due */
	sys_timeout_handler handler;
	void *arg;
};

static struct timeo pool[TIMEOUTS_MAX];
static struct timeo *free_list, *pending;
static int tcp_timer_active;

/* Wrap-safe: a is before b. */
static int before(u32_t a, u32_t b)
{
	return (s32_t)(a - b) < 0;
}

void sys_timeouts_init(void)
{
	free_list = NULL;
	pending = NULL;
	tcp_timer_active = 0;
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

#if LWIP_TCP
/* A connection that needs none of TCP's timer: established, everything
 * sent and acknowledged, no ACK owed, nothing out of order or refused by
 * the application, no zero window to probe, and no tcp_poll callback
 * asked for. An open Server-Sent Events stream sits like this between
 * its events; lwIP's timer would still run every 250 ms for it. */
static int tcp_pcb_quiet(const struct tcp_pcb *pcb)
{
	return pcb->state == ESTABLISHED && !pcb->unsent && !pcb->unacked &&
#if TCP_QUEUE_OOSEQ
	       !pcb->ooseq &&
#endif
	       !pcb->refused_data && !pcb->poll && pcb->persist_backoff == 0 &&
	       !(pcb->flags & (TF_ACK_DELAY | TF_ACK_NOW | TF_CLOSEPEND | TF_NAGLEMEMERR | TF_RTO));
}

static int tcp_timer_wanted(void)
{
	if (tcp_tw_pcbs)
		return 1;
	for (const struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		if (!tcp_pcb_quiet(pcb))
			return 1;
	return 0;
}

static void tcp_timer(void *arg)
{
	(void)arg;
	tcp_tmr();
	if (tcp_timer_wanted())
		sys_timeout(TCP_TMR_INTERVAL, tcp_timer, NULL);
	else
		tcp_timer_active = 0;
}

/* Called by lwIP when a connection becomes active. */
void tcp_timer_needed(void)
{
	if (!tcp_timer_active && (tcp_active_pcbs || tcp_tw_pcbs)) {
		tcp_timer_active = 1;
		sys_timeout(TCP_TMR_INTERVAL, tcp_timer, NULL);
	}
}

void tcp_timer_settle(void)
{
	int wanted = tcp_timer_wanted();
	if (wanted && !tcp_timer_active) {
		tcp_timer_active = 1;
		sys_timeout(TCP_TMR_INTERVAL, tcp_timer, NULL);
	} else if (!wanted && tcp_timer_active) {
		sys_untimeout(tcp_timer, NULL);
		tcp_timer_active = 0;
	}
}
#else
void tcp_timer_settle(void)
{
}
#endif
