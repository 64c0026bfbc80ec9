/* testhooks.c - the test-only and benchmark-only behaviours (see
 * testhooks.h), kept out of the product code paths. */
#include "testhooks.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../drivers/virtio_net/virtio_net.h"
#include "../kernel/console.h"
#include "../kernel/lapic.h"
#include "../kernel/panic.h"
#include "../kernel/time.h"
#include "../kernel/x86.h"
#include "../smp/sched.h"
#include "jobs/primes.h"
#include "lwip/udp.h"

/* panic_test=stack: recurse until the stack's guard page stops it. */
#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int __attribute__((noinline)) overflow(volatile int depth)
{
	volatile char pad[512];
	pad[0] = (char)depth;
	return overflow(depth + 1) + pad[0];
}

static void overflow_task(struct task *t)
{
	(void)t;
	overflow(0);
}

void testhooks_fault(const struct test_config *t)
{
	const char *what = t->panic_test;
	if (!what)
		return;
	kprintf("boot: panic_test=%s requested\n", what);
	if (!strcmp(what, "ud"))
		__asm__ volatile("ud2");
	if (!strcmp(what, "pf"))
		*(volatile uint64_t *)0x7ffffffff000ULL = 1;
	if (!strcmp(what, "stack"))
		overflow(0);
	if (!strcmp(what, "apstack")) {         /* the same on an AP's 16 KiB stack */
		static struct task task = { overflow_task };
		struct task *tp = &task;
		sched_submit(&tp, 1);
		for (;;)
			pause();
	}
	if (!strcmp(what, "div")) {
		volatile uint64_t one = 1, zero = 0;   /* both volatile: 1/x folds to x==1 */
		kprintf("%lu\n", (unsigned long)(one / zero));
	}
	panic("panic_test=%s", what);
}

void testhooks_bench_floor(const struct test_config *t)
{
	static const struct bsp_ops none;
	if (!t->bench_floor)
		return;
	if (t->bench_floor == 2)
		vnet_init(lapic_id());
	kprintf("appliance: bench_floor=%d, halting\n", t->bench_floor);
	sched_bsp_loop(&none);
}

void testhooks_speed(const struct test_config *t)
{
	if (!t->speed)
		return;
	uint64_t t0 = time_ns();
	uint64_t n = count_primes_below(20000);
	kprintf("speed: %lu primes below 20000 in %lu us\n", (unsigned long)n,
		(unsigned long)((time_ns() - t0) / 1000));
}

static void echo_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
		      u16_t port)
{
	(void)arg;
	udp_sendto(pcb, p, addr, port);
	pbuf_free(p);
}

void testhooks_udp_echo(const struct test_config *t)
{
	if (!t->udp_echo)
		return;
	struct udp_pcb *pcb = udp_new();
	if (pcb && udp_bind(pcb, IP_ANY_TYPE, t->udp_echo) == ERR_OK) {
		udp_recv(pcb, echo_recv, NULL);
		kprintf("echo: udp port %u\n", t->udp_echo);
	}
}

static void log_job(const struct job_info *info)
{
	struct sched_stats ss;
	sched_stats(&ss);
	char buf[24 * 64];
	int n = 0;
	for (int i = 0; i < ss.ncores && n < (int)sizeof(buf) - 24; i++) {
		struct sched_core_stats cs;
		sched_core_stats(i, &cs);
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s%lu", i ? "," : "",
			      (unsigned long)cs.tasks_done);
	}
	kprintf("jobs: job %lu %s result=%lu elapsed_us=%lu tasks_done=[%s]\n",
		(unsigned long)info->id, job_state_name(info->state), (unsigned long)info->result,
		(unsigned long)(info->elapsed_ns / 1000), buf);
}

void (*testhooks_job_logger(const struct test_config *t))(const struct job_info *info)
{
	return t->log_jobs ? log_job : NULL;
}
