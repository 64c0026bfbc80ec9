/* net.c - lwIP on a netdev with NO_SYS=1: the netif glue (frames in and
 * out, copied between driver buffers and pbufs), sys_now() from the TSC,
 * address configuration, and the deadline that decides when the BSP's
 * one-shot timer next fires (sys_timeouts_sleeptime: with nothing
 * pending, no timer is armed).
 *
 * lwIP's cyclic timers (ARP 1 s, IP reassembly 1 s, DHCP 500 ms and 60 s)
 * would wake an idle appliance four times a second. timeouts.c never starts
 * them; they are driven on demand here instead: ARP's tick runs for
 * NET_ARP_LINGER_MS after an ARP request went out (a pending query, or a
 * stable entry in use being refreshed: they need the tick to be retried
 * and to expire); otherwise the ticks are run late, when a frame comes or
 * goes, as many as the wall clock says were due, so entries age as lwIP
 * intends while an exchange with a known peer (an event stream's comment
 * every 15 s) costs no ARP wake-up at all; reassembly
 * for NET_REASS_LINGER_MS after a fragment arrived, DHCP's fine timer only
 * while a DHCP exchange is under way, its coarse timer (lease renewal)
 * once a minute while DHCP runs. TCP's timer is on demand in lwIP already. */
#include "net.h"

#include "../kernel/console.h"
#include "../kernel/time.h"
#include "../kernel/x86.h"
#include "../smp/sched.h"
#include "ipcfg.h"
#include "timeouts.h"
#include "lwip/dhcp.h"
#include "lwip/ip4_frag.h"
#include "lwip/prot/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#define RX_BUDGET   32
#define MAX_SEGS    16
#define NET_ARP_LINGER_MS   10000
#define NET_REASS_LINGER_MS ((IP_REASS_MAXAGE + 5) * IP_TMR_INTERVAL)

static struct netif netif;
static struct netdev *dev;
static const char *addr_source = "none";
static uint32_t rand_state;
static bool arp_armed, reass_armed, dhcp_fine_armed;
static u32_t arp_query_ms, reass_until_ms, arp_last_tick_ms;

u32_t sys_now(void)
{
	return (u32_t)(time_ns() / 1000000);
}

uint32_t lwip_port_rand(void)
{
	/* xorshift32, seeded from the TSC at first use */
	if (!rand_state)
		rand_state = (uint32_t)rdtsc() | 1;
	rand_state ^= rand_state << 13;
	rand_state ^= rand_state >> 17;
	rand_state ^= rand_state << 5;
	return rand_state;
}

static void arp_tick(void *arg)
{
	(void)arg;
	etharp_tmr();
	arp_last_tick_ms += ARP_TMR_INTERVAL;
	arp_armed = sys_now() - arp_query_ms < NET_ARP_LINGER_MS;
	if (arp_armed)
		sys_timeout(ARP_TMR_INTERVAL, arp_tick, NULL);
}

/* An ARP request (ethertype 0x0806, operation 1) in an outgoing frame. */
static bool arp_request(const struct pbuf *p)
{
	const uint8_t *f = p->payload;
	return p->len >= 22 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 1;
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

/* A frame in or out; after an ARP request, the tick runs again. */
static void note_traffic(bool arp_query)
{
	arp_catch_up();
	if (!arp_query)
		return;
	u32_t now = sys_now();
	arp_query_ms = now;
	if (!arp_armed) {
		arp_armed = true;
		u32_t since = now - arp_last_tick_ms;   /* < ARP_TMR_INTERVAL */
		sys_timeout(ARP_TMR_INTERVAL - since, arp_tick, NULL);
	}
}

static void reass_tick(void *arg)
{
	(void)arg;
	ip_reass_tmr();
	reass_armed = (s32_t)(reass_until_ms - sys_now()) > 0;
	if (reass_armed)
		sys_timeout(IP_TMR_INTERVAL, reass_tick, NULL);
}

/* An IPv4 fragment (MF set or a non-zero offset) starts reassembly. */
static void note_fragment(const uint8_t *f, size_t len)
{
	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || !((f[20] & 0x3f) | f[21]))
		return;
	reass_until_ms = sys_now() + NET_REASS_LINGER_MS;
	if (!reass_armed) {
		reass_armed = true;
		sys_timeout(IP_TMR_INTERVAL, reass_tick, NULL);
	}
}

static bool dhcp_busy(void)
{
	struct dhcp *d = netif_dhcp_data(&netif);
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
	struct dhcp *d = netif_dhcp_data(&netif);
	if (!d || d->state == DHCP_STATE_OFF)
		return;
	dhcp_coarse_tmr();
	dhcp_arm_fine();        /* a renewal needs the fine timer again */
	sys_timeout(DHCP_COARSE_TIMER_MSECS, dhcp_coarse_tick, NULL);
}

static err_t linkoutput(struct netif *n, struct pbuf *p)
{
	(void)n;
	struct netdev_seg segs[MAX_SEGS];
	int k = 0;
	for (struct pbuf *q = p; q; q = q->next) {
		if (k == MAX_SEGS) {
			LINK_STATS_INC(link.drop);
			dev->stats.tx_drops++;
			return ERR_MEM;
		}
		segs[k].data = q->payload;
		segs[k].len = q->len;
		k++;
	}
	note_traffic(arp_request(p));
	if (dev->ops->xmit(dev, segs, k) < 0) {
		LINK_STATS_INC(link.drop);
		return ERR_MEM;
	}
	LINK_STATS_INC(link.xmit);
	return ERR_OK;
}

static bool rx_deliver(void *ctx, const void *frame, size_t len)
{
	(void)ctx;
	note_traffic(false);
	note_fragment(frame, len);
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
	if (!p) {
		/* The pool is dry: out-of-order TCP segments give way to new
		 * frames (pbuf_alloc asked for it), then try once more. */
		PBUF_CHECK_FREE_OOSEQ();
		p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
	}
	if (!p) {
		LINK_STATS_INC(link.memerr);
		return false;
	}
	pbuf_take(p, frame, (u16_t)len);
	LINK_STATS_INC(link.recv);
	if (netif.input(p, &netif) != ERR_OK) {
		pbuf_free(p);
		return false;
	}
	return true;
}

static err_t netif_setup(struct netif *n)
{
	n->name[0] = 'e';
	n->name[1] = 'n';
	n->hwaddr_len = ETH_HWADDR_LEN;
	for (int i = 0; i < ETH_HWADDR_LEN; i++)
		n->hwaddr[i] = dev->mac[i];
	n->mtu = dev->mtu;
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	n->output = etharp_output;
	n->linkoutput = linkoutput;
	return ERR_OK;
}

static void print_addr(const char *what)
{
	const ip4_addr_t *a = netif_ip4_addr(&netif), *m = netif_ip4_netmask(&netif),
			 *g = netif_ip4_gw(&netif);
	int prefix = 0;
	for (uint32_t x = lwip_ntohl(ip4_addr_get_u32(m)); x & 0x80000000u; x <<= 1)
		prefix++;
	kprintf("net: address %u.%u.%u.%u/%d gw %u.%u.%u.%u (%s)\n", ip4_addr1(a), ip4_addr2(a),
		ip4_addr3(a), ip4_addr4(a), prefix, ip4_addr1(g), ip4_addr2(g), ip4_addr3(g),
		ip4_addr4(g), what);
}

static void status_changed(struct netif *n)
{
	if (netif_is_up(n) && !ip4_addr_isany_val(*netif_ip4_addr(n)) && dhcp_supplied_address(n)) {
		addr_source = "dhcp";
		print_addr("dhcp");
	}
}

static void set_static(const struct ipcfg *c, const char *what)
{
	ip4_addr_t a, m, g;
	ip4_addr_set_u32(&a, lwip_htonl(c->addr));
	ip4_addr_set_u32(&m, lwip_htonl(c->mask));
	ip4_addr_set_u32(&g, lwip_htonl(c->gw));
	netif_set_addr(&netif, &a, &m, &g);
	addr_source = what;
	print_addr(what);
}

static void dhcp_fallback(void *arg)
{
	(void)arg;
	if (dhcp_supplied_address(&netif))
		return;
	dhcp_stop(&netif);
	struct ipcfg c;
	ipcfg_fallback(&c);
	kprintf("net: no DHCP lease after %d ms\n", NET_DHCP_FALLBACK_MS);
	set_static(&c, "fallback");
}

/* Interrupt context: frames arrived, make the BSP loop serve soon. */
static void rx_event(void *arg)
{
	(void)arg;
	sched_kick_bsp();
}

void net_init(struct netdev *nd, const char *ip_option)
{
	struct ipcfg cfg;
	dev = nd;
	nd->rx_event_arg = NULL;
	__atomic_store_n(&nd->rx_event, rx_event, __ATOMIC_RELEASE);
	if (ipcfg_parse(ip_option, &cfg) < 0)
		kprintf("net: ip=%s is malformed (want dhcp or A.B.C.D/P[,GW]); using dhcp\n",
			ip_option);
	lwip_init();
	netif_add(&netif, NULL, NULL, NULL, NULL, netif_setup, ethernet_input);
	netif_set_default(&netif);
	netif_set_status_callback(&netif, status_changed);
	netif_set_up(&netif);
	netif_set_link_up(&netif);
	if (cfg.dhcp) {
		dhcp_start(&netif);
		dhcp_arm_fine();
		sys_timeout(DHCP_COARSE_TIMER_MSECS, dhcp_coarse_tick, NULL);
		sys_timeout(NET_DHCP_FALLBACK_MS, dhcp_fallback, NULL);
		kprintf("net: dhcp started\n");
	} else {
		set_static(&cfg, "static");
	}
}

void net_poll(void)
{
	if (dev && dev->ops->rx_poll(dev, rx_deliver, NULL, RX_BUDGET) == RX_BUDGET)
		sched_kick_bsp();       /* more frames wait: come back soon */
	arp_catch_up();         /* timeouts below may send */
	sys_check_timeouts();
	tcp_timer_settle();
}

uint64_t net_next_deadline_ns(void)
{
	tcp_timer_settle();     /* answers sent after net_poll may need TCP's timer */
	u32_t ms = sys_timeouts_sleeptime();
	if (ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE)
		return UINT64_MAX;
	/* +1 ms: sys_now() truncates, so a deadline on the exact millisecond
	 * could find the timeout not yet due and cost a second wake-up. */
	return time_ns() + ((uint64_t)ms + 1) * 1000000;
}

void net_stats(struct net_stats *s)
{
	*s = (struct net_stats){ 0 };
	if (!dev)
		return;
	s->present = true;
	s->link_up = dev->ops->link_up(dev);
	s->dev = dev->stats;
	s->pbuf_pool_used = lwip_stats.memp[MEMP_PBUF_POOL]->used;
	s->pbuf_pool_size = lwip_stats.memp[MEMP_PBUF_POOL]->avail;
	s->pbuf_pool_err = lwip_stats.memp[MEMP_PBUF_POOL]->err;
	s->tcp_pcbs_used = lwip_stats.memp[MEMP_TCP_PCB]->used;
	s->tcp_segs_used = lwip_stats.memp[MEMP_TCP_SEG]->used;
	s->arp_queue_used = lwip_stats.memp[MEMP_ARP_QUEUE]->used;
	s->heap_used = lwip_stats.mem.used;
	s->heap_size = lwip_stats.mem.avail;
	s->arp_drops = lwip_stats.etharp.drop + lwip_stats.etharp.memerr;
	s->ip_drops = lwip_stats.ip.drop;
	s->udp_drops = lwip_stats.udp.drop;
	s->tcp_drops = lwip_stats.tcp.drop;
}

uint32_t net_addr(void)
{
	return lwip_ntohl(ip4_addr_get_u32(netif_ip4_addr(&netif)));
}

const char *net_addr_source(void)
{
	return addr_source;
}
