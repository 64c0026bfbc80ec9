/* testhooks.c - the test-only and benchmark-only behaviours (see
 * testhooks.h), kept out of the product code paths. */
#include "testhooks.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

static void fault_stack(void)
{
	overflow(0);
}

static void fault_ud(void)
{
	__asm__ volatile("ud2");
}

static void fault_pf(void)
{
	*(volatile uint64_t *)0x7ffffffff000ULL = 1;
}

static void fault_div(void)
{
	volatile uint64_t one = 1, zero = 0;   /* both volatile: 1/x folds to x==1 */
	kprintf("%lu\n", (unsigned long)(one / zero));
}

/* panic_test=null: read address 0, through a pointer the compiler cannot
 * see is NULL (it would put a ud2 in place of a known NULL load). */
static void fault_null(void)
{
	uint64_t *volatile p = NULL;
	kprintf("%lu\n", (unsigned long)*p);
}

/* panic_test=nx: call into the heap, where a RET waits: where the heap is
 * executable this returns silently and the test sees no fault. */
static void fault_nx(void)
{
	uint8_t *code = malloc(64);
	if (!code)
		panic("panic_test=nx: no memory");
	memset(code, 0xc3, 64);                 /* ret */
	((void (*)(void))(uintptr_t)code)();
}

/* panic_test=wtext: write a byte of this function's text over itself. */
static void fault_wtext(void)
{
	volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)fault_wtext;
	*p = *p;
}

/* panic_test=smash: write 48 bytes past a 16-byte array on the stack,
 * over the canary and the return address: the check before RET must
 * catch it (without it, RET would jump to 0x4141414141414141). */
static void __attribute__((noinline)) fault_smash(void)
{
	char buf[16];
	volatile size_t n = sizeof(buf) + 48;
	memset(buf, 'A', n);
}

static const struct {
	const char *name;
	void (*raise)(void);
} faults[] = {
	{ "ud", fault_ud }, { "pf", fault_pf }, { "div", fault_div }, { "stack", fault_stack },
	{ "null", fault_null }, { "nx", fault_nx }, { "wtext", fault_wtext },
	{ "smash", fault_smash },
};

/* panic_test=apKIND: the same on an AP (on its 16 KiB stack), as a task;
 * the BSP only spins, so it never takes the task itself. */
static void (*ap_fault)(void);

static void ap_fault_task(struct task *t)
{
	(void)t;
	ap_fault();
	panic("panic_test: no fault on this core");    /* the BSP only spins */
}

void testhooks_fault(const struct test_config *t)
{
	const char *what = t->panic_test;
	if (!what)
		return;
	kprintf("boot: panic_test=%s requested\n", what);
	bool on_ap = !strncmp(what, "ap", 2);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		if (strcmp(what + (on_ap ? 2 : 0), faults[i].name))
			continue;
		if (!on_ap) {
			faults[i].raise();
			break;
		}
		static struct task task = { ap_fault_task };
		struct task *tp = &task;
		ap_fault = faults[i].raise;
		sched_submit(&tp, 1);
		for (;;)
			pause();
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
