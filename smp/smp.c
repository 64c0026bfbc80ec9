/* smp.c - AP start-up (Intel SDM vol. 3, 8.4.4.1: INIT, 10 ms, SIPI,
 * 200 us, SIPI) through the real-mode trampoline, and the boot-time
 * self-test. The per-CPU table itself is kernel/cpu.c. */
#include "smp.h"

#include <stddef.h>
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

#define TRAMPOLINE_BASE   0x8000        /* SIPI vector 0x08; trampoline.S: the same */
#define TRAMPOLINE_PARAMS 0x9000        /* trampoline.S: the same, P_* offsets */
#define AP_STACK_SIZE     16384
#define PAGE_SIZE         4096

/* The page above the trampoline's code: the code page is read-only and
 * executable, this one writable and not (W^X). */
struct trampoline_params {
	uint64_t cr3;
	uint64_t entry;
	uint64_t slots;         /* struct ap_slot[max_apic + 1] */
	uint64_t max_apic;
	uint32_t efer;          /* EFER bits to set: LME, and NXE (paging_efer_bits) */
	uint32_t parked;        /* APs that found no slot and halted (atomic) */
};
_Static_assert(offsetof(struct trampoline_params, efer) == 32 &&
	       offsetof(struct trampoline_params, parked) == 36, "trampoline.S P_EFER, P_PARKED");
_Static_assert(TRAMPOLINE_PARAMS >= TRAMPOLINE_BASE + PAGE_SIZE, "a page of its own");

/* Where the AP of one APIC ID finds its stack: the trampoline claims
 * stack_top with a LOCK CMPXCHG to 0; the BSP withdraws it the same way
 * when the AP is late, so a late AP can never run on any stack. */
struct ap_slot {
	uint64_t stack_top;
	uint64_t cpu;
};
_Static_assert(sizeof(struct ap_slot) == 16, "trampoline.S indexes slots by id * 16");

extern char trampoline_start[], trampoline_end[];

static struct trampoline_params *tp;
static struct ap_slot *slots;           /* by APIC ID, max_apic + 1 of them */
/* Where each AP is in its start-up, by core index; the BSP's entry is
 * unused. Written by the BSP only. */
enum ap_state {
	AP_NONE,        /* no stack: not started (or smp_prepare not run) */
	AP_READY,       /* its stack published in its slot */
	AP_SENT,        /* sent its SIPI */
	AP_PARKED,      /* its stack withdrawn, the core INIT-ed */
};
static uint8_t *ap_state;
static int started;                     /* cores sent a SIPI, the BSP included */
static uint64_t init_delay_us;
static int late_parked;                 /* withdrawn, never claimed */

static void ap_main(struct cpu *c)
{
	cpu_init_this(c);
	lapic_init_cpu();
	__atomic_store_n(&c->online, true, __ATOMIC_RELEASE);
	__atomic_fetch_add(&cpus_online, 1, __ATOMIC_SEQ_CST);
	sti();
	sched_ap_loop();
}

static bool online(const struct cpu *c)
{
	return __atomic_load_n(&c->online, __ATOMIC_ACQUIRE);
}

void smp_prepare(void)
{
	/* SDM 8.4.4.1 waits 10 ms after INIT for real hardware; a virtual
	 * CPU (CPUID.1:ECX bit 31, "hypervisor") takes INIT at once. */
	uint32_t a, b, cx, d;
	cpuid(1, 0, &a, &b, &cx, &d);
	init_delay_us = (cx & (1u << 31)) ? 100 : 10000;
	uint32_t max_apic = 0;
	for (int i = 0; i < ncpus; i++)
		if (cpus[i].apic_id > max_apic)
			max_apic = cpus[i].apic_id;
	slots = calloc((size_t)max_apic + 1, sizeof(*slots));
	ap_state = calloc((size_t)ncpus, sizeof(*ap_state));
	kassert(slots && ap_state);
	started = 1;
	size_t len = (size_t)(trampoline_end - trampoline_start);
	kassert(len <= PAGE_SIZE);
	memcpy((void *)TRAMPOLINE_BASE, trampoline_start, len);
	memset((void *)(TRAMPOLINE_BASE + len), 0, PAGE_SIZE - len);  /* nothing else executable */
	paging_protect(TRAMPOLINE_BASE, PAGE_SIZE, PAGING_RX);
	tp = (void *)TRAMPOLINE_PARAMS;
	tp->cr3 = read_cr3();
	tp->entry = (uint64_t)ap_main;
	tp->slots = (uint64_t)slots;
	tp->max_apic = max_apic;
	tp->efer = paging_efer_bits();
	tp->parked = 0;

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
		slots[c->apic_id].cpu = (uint64_t)c;
		__atomic_store_n(&slots[c->apic_id].stack_top, c->stack_top, __ATOMIC_RELEASE);
		ap_state[i] = AP_READY;
	}
}

/* A core that smp_prepare gave a stack and that is not up. */
static bool startable(int i)
{
	return ap_state[i] != AP_NONE && !online(&cpus[i]);
}

void smp_start(int first, int end)
{
	kassert(ap_state);
	if (first < 1)
		first = 1;
	if (end > ncpus)
		end = ncpus;
	if (first >= end)
		return;
	/* All at once: INIT each, one wait, SIPI each, and a second SIPI
	 * for those not up after 200 us (SDM 8.4.4.1). */
	for (int i = first; i < end; i++)
		if (startable(i))
			lapic_send_init(cpus[i].apic_id);
	time_delay_us(init_delay_us);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = first; i < end; i++) {
			if (!startable(i))
				continue;
			lapic_send_sipi(cpus[i].apic_id, TRAMPOLINE_BASE >> 12);
			if (ap_state[i] == AP_READY) {
				ap_state[i] = AP_SENT;
				started++;
			}
		}
		if (pass == 0)
			time_delay_us(200);
	}
}

void smp_wait_online(void)
{
	int seen = __atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE);
	uint64_t last = time_us();
	while (seen < started && time_us() - last < SMP_AP_TIMEOUT_MS * 1000ULL) {
		pause();
		int now = __atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE);
		if (now != seen) {
			seen = now;
			last = time_us();
		}
	}
}

void smp_withdraw_missing(void)
{
	kassert(ap_state);
	for (int i = 1; i < ncpus; i++) {
		struct cpu *c = &cpus[i];
		uint64_t top = c->stack_top;
		if (ap_state[i] == AP_NONE || ap_state[i] == AP_PARKED || online(c))
			continue;
		/* Take the stack back. One that claimed its slot meanwhile is
		 * on its way up: give it the time it needs. */
		if (!__atomic_compare_exchange_n(&slots[c->apic_id].stack_top, &top, 0, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			uint64_t end = time_us() + SMP_AP_TIMEOUT_MS * 1000ULL;
			while (!online(c) && time_us() < end)
				pause();
			/* Never INIT a core that took its stack: it may come
			 * online right after any last look, and a core counted
			 * online must be running. Late, it joins when it comes. */
			if (!online(c))
				kprintf("smp: core %d (apic %u) took its stack but is not up yet\n", i,
					c->apic_id);
			continue;
		}
		lapic_send_init(c->apic_id);    /* parked: waits for a SIPI that never comes */
		ap_state[i] = AP_PARKED;
		late_parked++;
		kprintf("smp: core %d (apic %u) did not answer in %d ms, parked\n", i, c->apic_id,
			SMP_AP_TIMEOUT_MS);
	}
}

unsigned smp_trampoline_parked(void)
{
	return tp ? __atomic_load_n(&tp->parked, __ATOMIC_ACQUIRE) : 0;
}

void smp_report(void)
{
	kprintf("smp: %s, %d of %d cores started\n", lapic_x2apic() ? "x2apic" : "xapic",
		cpus_online, ncpus);
	kprintf("cores online: %d\n", cpus_online);
}

void smp_start_aps(void)
{
	smp_prepare();
	smp_start(1, ncpus);
	smp_wait_online();
	smp_withdraw_missing();
	smp_report();
}

void smp_stats(struct smp_stats *s)
{
	s->discovered = ncpus;
	s->online = __atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE);
	s->parked = late_parked;
}

/* The self-test: one job of one one-chunk task per online core; every
 * chunk waits until all have started, so no core can run two of them;
 * then each core must have run exactly one. */
struct selftest {
	int *ran_on;            /* per task: the core that ran it, -1 none */
	int started;            /* chunks begun (atomic) */
	int target;
	uint64_t deadline_us;
	int finished;           /* the job ended: nothing writes ran_on any more */
};

static void selftest_run(void *owner, uint32_t t, uint64_t c)
{
	struct selftest *st = owner;
	(void)c;
	st->ran_on[t] = cpu_index();
	__atomic_fetch_add(&st->started, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&st->started, __ATOMIC_SEQ_CST) < st->target &&
	       time_us() < st->deadline_us)
		pause();
}

static void selftest_finished(void *owner, bool all_ran)
{
	(void)all_ran;
	__atomic_store_n(&((struct selftest *)owner)->finished, 1, __ATOMIC_RELEASE);
}

bool smp_selftest(void)
{
	static struct selftest st;
	int n = cpus_online;
	st.ran_on = malloc((size_t)n * sizeof(int));
	uint64_t *counts = malloc(2 * (size_t)n * sizeof(uint64_t));
	kassert(st.ran_on && counts);
	for (int i = 0; i < n; i++)
		st.ran_on[i] = -1;
	st.started = 0;
	st.target = n;
	st.finished = 0;
	/* Generous: waking 1023 halted cores under TCG on a loaded 2-core
	 * host took 7.6 to 16.9 s; only a broken core makes it wait this long. */
	st.deadline_us = time_us() + 5000000 + 60000ULL * (uint64_t)n;
	const struct work w = {
		.tasks = (uint32_t)n,
		.per_task = 1,
		.task_left = counts,
		.task_next = counts + n,
		.run = selftest_run,
		.finished = selftest_finished,
		.owner = &st,
		.untimed = true,        /* its chunks wait for each other */
	};
	uint64_t t0 = time_us();
	int slot = sched_add(&w);
	kassert(slot >= 0);
	while (sched_run_one())
		;
	while (!__atomic_load_n(&st.finished, __ATOMIC_ACQUIRE) && time_us() < st.deadline_us)
		pause();
	/* Past the deadline: take back what no core claimed, then let the
	 * claimed chunks end (each stops at the deadline) before the memory
	 * they write is freed. */
	if (!__atomic_load_n(&st.finished, __ATOMIC_ACQUIRE))
		sched_withdraw(slot, &st);
	uint64_t grace = time_us() + 1000000;
	while (!__atomic_load_n(&st.finished, __ATOMIC_ACQUIRE) && time_us() < grace)
		pause();
	bool ended = __atomic_load_n(&st.finished, __ATOMIC_ACQUIRE);
	bool *seen = calloc((size_t)ncpus, sizeof(*seen));
	kassert(seen);
	int distinct = 0;
	for (int i = 0; i < n; i++)
		if (st.ran_on[i] >= 0 && !seen[st.ran_on[i]]) {
			seen[st.ran_on[i]] = true;
			distinct++;
		}
	free(seen);
	bool ok = distinct == n;
	kprintf("selftest: %s (%d tasks ran on %d distinct cores of %d online, %lu us)\n",
		ok ? "passed" : "FAILED", __atomic_load_n(&st.started, __ATOMIC_SEQ_CST),
		distinct, n, (unsigned long)(time_us() - t0));
	if (ended) {
		free(st.ran_on);
		free(counts);
	} else {
		kprintf("selftest: a core still runs its chunk; its memory is left to it\n");
	}
	return ok;
}
