/* udp_compute.c - one request per datagram: parse, submit to the job
 * engine, and when the job ends reply to the sender with
 *   <result> tasks=<T> mode=<mode> cores=<C> us=<elapsed>\n
 * or ERR <reason>\n at once for a bad request or a full appliance. Every
 * datagram gets exactly one reply. The sender's IPv4 address and port
 * ride in the job's context word, so no table of peers can fill up. Runs
 * on the BSP (lwIP's owner). */
#include "udp_compute.h"

#include <stdio.h>
#include <string.h>

#include "../../kernel/console.h"
#include "../../kernel/time.h"
#include "../../smp/sched.h"
#include "../jobs/jobs.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"
#include "request.h"

static struct udp_pcb *pcb;
static struct udp_compute_stats stats;

static void *peer_pack(const ip_addr_t *addr, u16_t port)
{
	return (void *)(uintptr_t)((uint64_t)ip4_addr_get_u32(ip_2_ip4(addr)) << 16 | port);
}

static void peer_unpack(void *ctx, ip_addr_t *addr, u16_t *port)
{
	uint64_t v = (uintptr_t)ctx;
	ip_addr_set_ip4_u32(addr, (u32_t)(v >> 16));
	*port = (u16_t)v;
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

static void job_done(const struct job_info *info, void *ctx)
{
	ip_addr_t addr;
	u16_t port;
	peer_unpack(ctx, &addr, &port);
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
	send_text(&addr, port, buf, (size_t)n);
}

static void on_datagram(void *arg, struct udp_pcb *upcb, struct pbuf *p, const ip_addr_t *addr,
			u16_t port)
{
	(void)arg;
	(void)upcb;
	uint64_t now = time_ns();
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
	enum job_err e = jobs_submit(&spec, now, job_done, peer_pack(addr, port), NULL);
	if (e == JOB_EBUSY || e == JOB_ENOMEM) {
		stats.busy++;
		send_err(addr, port, "busy");
	} else if (e != JOB_OK) {
		stats.bad++;
		send_err(addr, port, "bad request");
	}
}

void udp_compute_init(uint16_t port)
{
	pcb = udp_new_ip_type(IPADDR_TYPE_V4);
	if (!pcb || udp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
		kprintf("udp: cannot bind port %u\n", port);
		return;
	}
	udp_recv(pcb, on_datagram, NULL);
	kprintf("udp: compute endpoint on port %u\n", port);
}

void udp_compute_stats(struct udp_compute_stats *s)
{
	*s = stats;
}
