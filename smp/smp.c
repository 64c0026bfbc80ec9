/* smp.c - AP start-up (Intel SDM vol. 3, 8.4.4.1: INIT, 10 ms, SIPI,
 * 200 us, SIPI) through the real-mode trampoline, and the boot-time
 * self-test. The per-CPU table itself is kernel/cpu.c. */
#include "smp.h"

#include <stdlib.h>
#include <string.h>

#include "../kernel/console.h"
#include "../kernel/cpu.h"
#include "../kernel/kheap.h"
#include "../kernel/lapic.h"
#include "../kernel/paging.h"
#include "../kernel/panic.h"
#include "../kernel/time.h"
#include "../kernel/x86.h"
#include "sched.h"

#define TRAMPOLINE_BASE   0x8000        /* SIPI vector 0x08 */
#define AP_STACK_SIZE     16384
#define PAGE_SIZE         4096

struct trampoline_params {
	uint64_t cr3;
	uint64_t stack;
	uint64_t entry;
	uint64_t arg;
};

extern char trampoline_start[], trampoline_end[], trampoline_params[];
static void ap_main(struct cpu *c)
{
	cpu_init_this(c);
	lapic_init_cpu();
	__atomic_store_n(&c->online, true, __ATOMIC_RELEASE);
	__atomic_fetch_add(&cpus_online, 1, __ATOMIC_SEQ_CST);
	sti();
	sched_ap_loop();
}

static bool wait_online(struct cpu *c, uint64_t us)
{
	uint64_t end = time_us() + us;
	while (time_us() < end) {
		if (__atomic_load_n(&c->online, __ATOMIC_ACQUIRE))
			return true;
		pause();
	}
	return __atomic_load_n(&c->online, __ATOMIC_ACQUIRE);
}

void smp_start_aps(int dead)
{
	/* SDM 8.4.4.1 waits 10 ms after INIT for real hardware; a virtual
	 * CPU (CPUID.1:ECX bit 31, "hypervisor") takes INIT at once, and the
	 * wait would cost 10 ms of boot per core (Linux skips it likewise on
	 * modern CPUs). */
	uint32_t a, b, cx, d;
	cpuid(1, 0, &a, &b, &cx, &d);
	uint64_t init_delay_us = (cx & (1u << 31)) ? 100 : 10000;
	size_t len = (size_t)(trampoline_end - trampoline_start);
	memcpy((void *)TRAMPOLINE_BASE, trampoline_start, len);
	struct trampoline_params *tp =
		(void *)(TRAMPOLINE_BASE + (trampoline_params - trampoline_start));

	for (int i = 1; i < ncpus; i++) {
		struct cpu *c = &cpus[i];
		uint8_t *guard = kmalloc_aligned(PAGE_SIZE + AP_STACK_SIZE, PAGE_SIZE);
		if (!guard) {
			kprintf("smp: no memory for core %d's stack, skipped\n", i);
			continue;
		}
		paging_guard(guard);    /* an overflow faults at once */
		uint8_t *stack = guard + PAGE_SIZE;
		c->stack_top = (uint64_t)(stack + AP_STACK_SIZE);
		c->stack_guard = (uint64_t *)stack;
		*c->stack_guard = STACK_CANARY;
		tp->cr3 = read_cr3();
		tp->stack = c->stack_top;
		tp->entry = (uint64_t)ap_main;
		tp->arg = (uint64_t)c;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);

		lapic_send_init(c->apic_id);
		time_delay_us(init_delay_us);
		if (i != dead)
			lapic_send_sipi(c->apic_id, TRAMPOLINE_BASE >> 12);
		if (!wait_online(c, 200)) {
			if (i != dead)
				lapic_send_sipi(c->apic_id, TRAMPOLINE_BASE >> 12);
			if (!wait_online(c, SMP_AP_TIMEOUT_MS * 1000ULL)) {
				kprintf("smp: core %d (apic %u) did not answer in %d ms, skipped\n",
					i, c->apic_id, SMP_AP_TIMEOUT_MS);
				continue;
			}
		}
	}
	kprintf("smp: %s, %d of %d cores started\n", lapic_x2apic() ? "x2apic" : "xapic",
		cpus_online, ncpus);
	kprintf("cores online: %d\n", cpus_online);
}

/* The self-test: every task waits until all have started, so no core
 * can run two of them; then each core must have run exactly one. */
struct selftest_task {
	struct task task;
	int ran_on;
};

static volatile int selftest_started;
static volatile int selftest_target;
static volatile uint64_t selftest_deadline;

static void selftest_run(struct task *t)
{
	struct selftest_task *st = (struct selftest_task *)t;
	st->ran_on = cpu_index();
	__atomic_fetch_add(&selftest_started, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&selftest_started, __ATOMIC_SEQ_CST) < selftest_target &&
	       time_us() < selftest_deadline)
		pause();
}

bool smp_selftest(void)
{
	int n = cpus_online;
	struct selftest_task *ts = calloc((size_t)n, sizeof(*ts));
	struct task **tp = calloc((size_t)n, sizeof(*tp));
	kassert(ts && tp);
	for (int i = 0; i < n; i++) {
		ts[i].task.run = selftest_run;
		ts[i].ran_on = -1;
		tp[i] = &ts[i].task;
	}
	selftest_started = 0;
	selftest_target = n;
	selftest_deadline = time_us() + 5000000;
	uint64_t t0 = time_us();
	kassert(sched_submit(tp, n));
	while (sched_run_one())
		;
	/* Wait for the last tasks to finish on the other cores. */
	while (sched_queue_room() < SCHED_QUEUE_CAPACITY || __atomic_load_n(&selftest_started, __ATOMIC_SEQ_CST) < n) {
		if (time_us() > selftest_deadline)
			break;
		pause();
	}
	uint64_t seen = 0;
	for (int i = 0; i < n; i++)
		if (ts[i].ran_on >= 0)
			seen |= 1ULL << ts[i].ran_on;
	int distinct = 0;
	for (; seen; seen &= seen - 1)
		distinct++;
	bool ok = distinct == n;
	kprintf("selftest: %s (%d tasks ran on %d distinct cores of %d online, %lu us)\n",
		ok ? "passed" : "FAILED", __atomic_load_n(&selftest_started, __ATOMIC_SEQ_CST),
		distinct, n, (unsigned long)(time_us() - t0));
	free(ts);
	free(tp);
	return ok;
}
