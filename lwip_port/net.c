/* net.c - lwIP on a netdev with NO_SYS=1: the netif glue (frames in and
 * out, copied between driver buffers and pbufs), address configuration
 * (DHCP, static, or the fallback), and the counters. Which of lwIP's
 * timers run when is timeouts.c's decision: net.c only tells it of frames
 * and of DHCP; sys_now() is sys_arch.c's. */
#include "net.h"

#include "../kernel/console.h"
#include "../smp/sched.h"
#include "ipcfg.h"
#include "tcp_guard.h"
#include "tcp_isn.h"
#include "timeouts.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#define RX_BUDGET   32
#define MAX_SEGS    16

static struct netif netif;
static struct netdev *dev;
static const char *addr_source = "none";

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
	timeouts_frame_out(p);
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
	timeouts_frame_in(p);
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
	tcp_isn_init();         /* the ISN key, before any connection */
	lwip_init();
	netif_add(&netif, NULL, NULL, NULL, NULL, netif_setup, ethernet_input);
	netif_set_default(&netif);
	netif_set_status_callback(&netif, status_changed);
	netif_set_up(&netif);
	netif_set_link_up(&netif);
	if (cfg.dhcp) {
		dhcp_start(&netif);
		timeouts_dhcp_started(&netif);
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
	timeouts_run();
}

uint64_t net_next_deadline_ns(void)
{
	return timeouts_deadline_ns();
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
	struct tcp_guard_stats g;
	tcp_guard_stats(&g);
	s->tcp_half_open_drops = g.recycled + g.expired + g.refused;
	s->tcp_closed_cut = g.closed_cut;
}

uint32_t net_addr(void)
{
	return lwip_ntohl(ip4_addr_get_u32(netif_ip4_addr(&netif)));
}

const char *net_addr_source(void)
{
	return addr_source;
}
