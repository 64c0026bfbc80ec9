/* udp_compute.c - one request per datagram: parse, submit to the job
 * engine, and when the job ends reply to the sender with
 *   <result> tasks=<T> mode=<mode> cores=<C> us=<elapsed>\n
 * or ERR <reason>\n at once for a bad request or a full appliance. Every
 * datagram gets exactly one reply. Each job in flight has a peer here (the
 * sender's address and port, and the waiter the engine tells at the
 * job's end), from a pool as large as the jobs that can be in flight.
 * Runs on the BSP (lwIP's owner). */
#include "udp_compute.h"

#include <stdio.h>
#include <string.h>

#include "../../kernel/console.h"
#include "../../kernel/time.h"
#include "../../smp/sched.h"
#include "../jobs/jobs.h"
#include "../../lwip_port/ipcfg.h"
#include "lwip/def.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"
#include "request.h"

static struct udp_pcb *pcb;
static struct udp_compute_stats stats;
static const struct ipnets *allow;     /* udp_allow=; NULL: everyone */

/* One per job in flight: whom to answer. */
struct udp_peer {
	struct job_waiter waiter;       /* first: the engine hands it back */
	ip_addr_t addr;
	u16_t port;
	bool used;
};

/* One more than the jobs that can be in flight, so a datagram always
 * finds a peer and the engine itself refuses (and counts) a job that
 * does not fit. */
#define PEERS (JOBS_MAX_INFLIGHT + 1)
static struct udp_peer peers[PEERS];

static struct udp_peer *peer_get(void)
{
	for (int i = 0; i < PEERS; i++)
		if (!peers[i].used) {
			peers[i].used = true;
			return &peers[i];
		}
	return NULL;
}

static void send_text(const ip_addr_t *addr, u16_t port, const char *s, size_t n)
{
	struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)n, PBUF_RAM);
	if (!p) {
		stats.replies_lost++;
		return;
	}
	memcpy(p->payload, s, n);
	if (udp_sendto(pcb, p, addr, port) != ERR_OK)
		stats.replies_lost++;
	pbuf_free(p);
}

static void send_err(const ip_addr_t *addr, u16_t port, const char *reason)
{
	char buf[80];
	int n = snprintf(buf, sizeof(buf), "ERR %s\n", reason);
	send_text(addr, port, buf, (size_t)n);
}

static void job_done(struct job_waiter *w, const struct job_info *info)
{
	struct udp_peer *peer = (struct udp_peer *)w;
	char buf[128];
	int n;
	if (info->state == JOB_DONE) {
		struct sched_stats ss;
		sched_stats(&ss);
		n = snprintf(buf, sizeof(buf), "%lu tasks=%u mode=%s cores=%d us=%lu\n",
			     (unsigned long)info->result, info->spec.tasks,
			     job_mode_name(info->spec.mode), ss.online,
			     (unsigned long)(info->elapsed_ns / 1000));
	} else {
		n = snprintf(buf, sizeof(buf), "ERR cancelled\n");
	}
	send_text(&peer->addr, peer->port, buf, (size_t)n);
	peer->used = false;
}

static void on_datagram(void *arg, struct udp_pcb *upcb, struct pbuf *p, const ip_addr_t *addr,
			u16_t port)
{
	(void)arg;
	(void)upcb;
	uint64_t now = time_ns();
	/* Not from an allowed source: no reply at all, or the appliance
	 * would answer forged sources (an amplifier). */
	if (allow && !ipcfg_nets_match(allow, lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(addr))))) {
		stats.denied++;
		pbuf_free(p);
		return;
	}
	char buf[REQUEST_MAX_BYTES];
	size_t len = p->tot_len;
	const char *err = NULL;
	struct job_spec spec;
	if (len > REQUEST_MAX_BYTES) {
		err = "request too long";
	} else {
		pbuf_copy_partial(p, buf, (u16_t)len, 0);
		err = request_parse(buf, len, &spec);
	}
	pbuf_free(p);
	if (err) {
		stats.bad++;
		send_err(addr, port, err);
		return;
	}
	struct udp_peer *peer = peer_get();
	if (!peer) {            /* cannot be: a used peer is a job in flight */
		stats.busy++;
		send_err(addr, port, "busy");
		return;
	}
	peer->waiter.done = job_done;
	ip_addr_copy(peer->addr, *addr);
	peer->port = port;
	enum job_err e = jobs_submit(&spec, now, &peer->waiter, NULL);
	if (e != JOB_OK)
		peer->used = false;
	if (e == JOB_EBUSY || e == JOB_ENOMEM) {
		stats.busy++;
		send_err(addr, port, "busy");
	} else if (e == JOB_ETOOBIG) {
		stats.too_big++;
		send_err(addr, port, "too much work");
	} else if (e != JOB_OK) {
		stats.bad++;
		send_err(addr, port, "bad request");
	}
}

void udp_compute_init(uint16_t port, const struct ipnets *allowed)
{
	allow = allowed && allowed->n ? allowed : NULL;
	pcb = udp_new_ip_type(IPADDR_TYPE_V4);
	if (!pcb || udp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
		kprintf("udp: cannot bind port %u\n", port);
		return;
	}
	udp_recv(pcb, on_datagram, NULL);
	kprintf("udp: compute endpoint on port %u%s\n", port,
		allow ? ", from udp_allow= sources only" : "");
}

void udp_compute_stats(struct udp_compute_stats *s)
{
	*s = stats;
}
