/* udp_compute.c - one request per datagram: parse, submit to the job
 * engine, and when the job ends reply to the sender with
 *   <result> tasks=<T> mode=<mode> cores=<C> us=<elapsed>\n
 * or ERR <reason>\n at once for a bad request or a full appliance. Every
 * datagram gets exactly one reply. Runs on the BSP (lwIP's owner). */
#include "udp_compute.h"

#include <stdio.h>
#include <string.h>

#include "../../kernel/console.h"
#include "../../kernel/time.h"
#include "../../smp/cpu.h"
#include "../jobs/jobs.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"
#include "request.h"

/* Where a job's reply goes: one per job in flight. */
struct peer {
	bool used;
	ip_addr_t addr;
	u16_t port;
};

static struct udp_pcb *pcb;
static struct peer peers[JOBS_MAX_INFLIGHT];
static uint64_t replies_lost;           /* replies lwIP could not send */

static void send_text(const ip_addr_t *addr, u16_t port, const char *s, size_t n)
{
	struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)n, PBUF_RAM);
	if (!p) {
		replies_lost++;
		return;
	}
	memcpy(p->payload, s, n);
	if (udp_sendto(pcb, p, addr, port) != ERR_OK)
		replies_lost++;
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
	struct peer *pe = ctx;
	char buf[128];
	int n;
	if (info->state == JOB_DONE)
		n = snprintf(buf, sizeof(buf), "%lu tasks=%u mode=%s cores=%d us=%lu\n",
			     (unsigned long)info->result, info->tasks, job_mode_name(info->mode),
			     cpus_online, (unsigned long)(info->elapsed_ns / 1000));
	else
		n = snprintf(buf, sizeof(buf), "ERR cancelled\n");
	send_text(&pe->addr, pe->port, buf, (size_t)n);
	pe->used = false;
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
	struct request req;
	if (len > REQUEST_MAX_BYTES) {
		err = "request too long";
	} else {
		pbuf_copy_partial(p, buf, (u16_t)len, 0);
		err = request_parse(buf, len, &req);
	}
	pbuf_free(p);
	if (err) {
		jobs_count_bad();
		send_err(addr, port, err);
		return;
	}
	struct peer *pe = NULL;
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++)
		if (!peers[i].used) {
			pe = &peers[i];
			break;
		}
	if (!pe) {
		send_err(addr, port, "busy");
		return;
	}
	ip_addr_copy(pe->addr, *addr);
	pe->port = port;
	pe->used = true;
	enum job_err e = jobs_submit(req.limit, req.tasks, req.split ? JOB_SPLIT : JOB_REPEAT,
				     now, job_done, pe, NULL);
	if (e != JOB_OK) {
		pe->used = false;
		send_err(addr, port, e == JOB_EBUSY ? "busy" : e == JOB_ENOMEM ? "out of memory" :
				     "bad request");
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
