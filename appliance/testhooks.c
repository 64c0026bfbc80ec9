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

static void overflow_chunk(void *owner, uint32_t t, uint64_t c)
{
	(void)owner, (void)t, (void)c;
	overflow(0);
}

static void never_finished(void *owner, bool all_ran)
{
	(void)owner, (void)all_ran;
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
		static uint64_t counts[2];
		static const struct work w = { .tasks = 1, .per_task = 1, .task_left = &counts[0],
					       .task_next = &counts[1], .run = overflow_chunk,
					       .finished = never_finished };
		sched_add(&w);
		for (;;)
			pause();
	}
	if (!strcmp(what, "div")) {
		volatile uint64_t one = 1, zero = 0;   /* both volatile: 1/x folds to x==1 */
		kprintf("%lu\n", (unsigned long)(one / zero));
	}
	panic("panic_test=%s", what);
}

static void nothing(void)
{
}

static uint64_t no_deadline(void)
{
	return SCHED_NO_DEADLINE;
}

void testhooks_bench_floor(const struct test_config *t)
{
	static const struct bsp_ops none = { nothing, nothing, no_deadline };
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

/* "a,b,c": one counter of every core, cut short where buf ends. */
static void core_counts(char *buf, size_t size, bool chunks)
{
	struct sched_stats ss;
	sched_stats(&ss);
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i < ss.ncores && n + 24 < size; i++) {
		struct sched_core_stats cs;
		sched_core_stats(i, &cs);
		n += (size_t)snprintf(buf + n, size - n, "%s%lu", i ? "," : "",
				      (unsigned long)(chunks ? cs.chunks_done : cs.tasks_done));
	}
}

static void log_job(const struct job_info *info)
{
	if (info->state != JOB_DONE && info->state != JOB_CANCELLED)
		return;
	static char tasks[24 * 64], chunks[24 * 64];
	core_counts(tasks, sizeof(tasks), false);
	core_counts(chunks, sizeof(chunks), true);
	kprintf("jobs: job %lu %s result=%lu elapsed_us=%lu tasks_done=[%s] chunks_done=[%s]\n",
		(unsigned long)info->id, job_state_name(info->state), (unsigned long)info->result,
		(unsigned long)(info->elapsed_ns / 1000), tasks, chunks);
}

void testhooks_job_logger(const struct test_config *t)
{
	static struct jobs_observer logger = { .changed = log_job };
	if (t->log_jobs)
		jobs_observe(&logger);
}
