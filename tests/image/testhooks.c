/* testhooks.c - what the test image adds to the product (testhooks.h):
 * each hook a combination of steps that smp/, the scheduler, the job
 * engine and lwIP expose to any caller; none of them is linked into the
 * product image. */
#include "testhooks.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../appliance/jobs/jobs.h"
#include "../../appliance/jobs/primes.h"
#include "../../kernel/console.h"
#include "../../kernel/cpu.h"
#include "../../kernel/panic.h"
#include "../../kernel/parse.h"
#include "../../kernel/time.h"
#include "../../kernel/x86.h"
#include "../../smp/sched.h"
#include "../../smp/smp.h"
#include "lwip/udp.h"

/* test_late_ap=: its SIPI after its stack was withdrawn; it must find no
 * stack and park itself in the trampoline (boot/trampoline.S). */
static void start_late(int core)
{
	unsigned before = smp_trampoline_parked();
	smp_start(core, core + 1);
	uint64_t end = time_us() + SMP_AP_TIMEOUT_MS * 1000ULL;
	while (smp_trampoline_parked() == before && time_us() < end)
		pause();
	kprintf("smp: core %d answered after its timeout: %s\n", core,
		smp_trampoline_parked() != before ? "it found no stack and parked itself" :
						    "it did not run at all");
}

void testhooks_start_aps(const struct test_config *t)
{
	smp_prepare();
	/* Every AP but the dead and the late one, in the runs between them. */
	int from = 1;
	for (int i = 1; i <= ncpus; i++) {
		if (i == ncpus || i == t->dead_ap || i == t->late_ap) {
			smp_start(from, i);
			from = i + 1;
		}
	}
	smp_wait_online();
	smp_withdraw_missing();                 /* the dead and the late one: parked */
	if (t->late_ap > 0 && t->late_ap < ncpus)
		start_late(t->late_ap);
	smp_report();
}

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

/* panic_test=apKIND: the same on an AP (on its 16 KiB stack), as a
 * one-chunk job; the BSP only spins, so it never takes the chunk itself. */
static void (*ap_fault)(void);

static void ap_fault_chunk(void *owner, uint32_t t, uint64_t c)
{
	(void)owner, (void)t, (void)c;
	ap_fault();
	panic("panic_test: no fault on this core");    /* the BSP only spins */
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
	bool on_ap = !strncmp(what, "ap", 2);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		if (strcmp(what + (on_ap ? 2 : 0), faults[i].name))
			continue;
		if (!on_ap) {
			faults[i].raise();
			break;
		}
		static uint64_t counts[2];
		static const struct work w = { .tasks = 1, .per_task = 1, .task_left = &counts[0],
					       .task_next = &counts[1], .run = ap_fault_chunk,
					       .finished = never_finished };
		ap_fault = faults[i].raise;
		sched_add(&w);
		for (;;)
			pause();
	}
	panic("panic_test=%s", what);
}

/* test_speed=PORT: "<limit>" in a datagram; the plain loop counts the
 * primes below it right here, on the BSP, inside the network's callback
 * (nothing else runs meanwhile), and the reply is "<count> us=<time>". */
static void speed_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
		       u16_t port)
{
	(void)arg;
	char buf[24];
	u16_t len = pbuf_copy_partial(p, buf, p->tot_len < sizeof(buf) ? p->tot_len : sizeof(buf), 0);
	pbuf_free(p);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	uint64_t limit;
	if (parse_u64(buf, len, PRIMES_LIMIT_MAX, &limit) != PARSE_OK)
		limit = 0;
	uint64_t t0 = time_ns();
	uint64_t n = count_primes_below(limit);
	char out[64];
	int olen = snprintf(out, sizeof(out), "%lu us=%lu\n", (unsigned long)n,
			    (unsigned long)((time_ns() - t0) / 1000));
	struct pbuf *r = pbuf_alloc(PBUF_TRANSPORT, (u16_t)olen, PBUF_RAM);
	if (r) {
		memcpy(r->payload, out, (size_t)olen);
		udp_sendto(pcb, r, addr, port);
		pbuf_free(r);
	}
}

void testhooks_speed(const struct test_config *t)
{
	if (!t->speed)
		return;
	struct udp_pcb *pcb = udp_new();
	if (pcb && udp_bind(pcb, IP_ANY_TYPE, t->speed) == ERR_OK) {
		udp_recv(pcb, speed_recv, NULL);
		kprintf("speed: the plain loop on udp port %u\n", t->speed);
	}
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
