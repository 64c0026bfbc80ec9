/* sched.c - the idle loops and wake-ups around the work table. The rule
 * that keeps a wake-up from being lost: a core publishes "halted" in the
 * halted bitmap, then checks the table for work with interrupts off, then
 * runs STI;HLT back to back. A waker publishes the work, then claims a
 * halted core's bit (atomic fetch-and) and IPIs it. Whichever comes second
 * sees the other's write.
 *
 * Under share every core, the BSP too, claims the next chunk of the next
 * job in turn whenever it has nothing else to do: no core halts while a
 * chunk is left. Under task (the paper's policy) the APs take whole
 * tasks and the BSP, which owns the network, takes one only while every
 * AP is busy (with one core, always). Either way the BSP runs one chunk
 * at a time and serves the network and delivers finished jobs between
 * two, so nothing waits longer than one chunk for it.
 *
 * The halted APs are a bitmap indexed by wake rank (placement order), so
 * waking n of them costs one find-first-set per 64 cores plus n, not a
 * scan of every core: 16 words at 1024 cores. */
#include "sched.h"

#include <stdlib.h>

#include "../kernel/cpu.h"
#include "../kernel/lapic.h"
#include "../kernel/panic.h"
#include "../kernel/time.h"
#include "../kernel/trap.h"
#include "../kernel/x86.h"

_Static_assert(SCHED_CHUNK_BUCKETS == CPU_CHUNK_BUCKETS, "one histogram layout");

static struct worktab table;
static int *hazards;                    /* the table's, one per core */

#define WORDS ((MAX_CPUS + 63) / 64)
static uint64_t halted[WORDS];          /* bit r: the AP of wake rank r is (about to be) in HLT */
static int bsp_halted;                  /* the BSP is (about to be) in HLT */
static volatile int bsp_kicked;
static int16_t wake_order[MAX_CPUS];    /* rank -> core index, APs in placement order */
static int16_t rank_of[MAX_CPUS];       /* core index -> rank; the BSP has none */
static int nwake;                       /* APs ranked */
static int aps_busy;                    /* APs holding a claim now, under task (atomic) */
static enum sched_placement placement;
static uint64_t serve_gap_max_tsc;      /* BSP only: longest wait of the network for a chunk */
static uint64_t chunk_max_tsc;          /* longest chunk of any core (atomic max) */

static void wake_handler(void *arg)
{
	(void)arg;      /* the IPI's only job is to end HLT */
}

static void timer_handler(void *arg)
{
	(void)arg;
	sched_kick_bsp();
}

static uint64_t place_key(const struct cpu *c)
{
	if (placement == PLACE_PACK)
		return (uint64_t)c->pkg_id << 42 | (uint64_t)c->core_id << 21 | c->smt_id;
	return (uint64_t)c->smt_id << 42 | (uint64_t)c->pkg_id << 21 | c->core_id;
}

void sched_init(enum worktab_policy policy)
{
	hazards = calloc((size_t)ncpus, sizeof(*hazards));
	kassert(hazards);
	worktab_init(&table, hazards, ncpus, policy);
	trap_set_handler(VEC_WAKE, wake_handler, 0);
	trap_set_handler(VEC_TIMER, timer_handler, 0);
}

void sched_set_placement(enum sched_placement p)
{
	placement = p;
	nwake = 0;
	for (int i = 1; i < ncpus; i++)
		wake_order[nwake++] = (int16_t)i;
	/* Insertion sort: nearly sorted already (MADT order follows the
	 * topology), so about n steps even at 1024 cores. */
	for (int i = 1; i < nwake; i++)
		for (int j = i; j > 0 && place_key(&cpus[wake_order[j]]) <
					 place_key(&cpus[wake_order[j - 1]]); j--) {
			int16_t t = wake_order[j];
			wake_order[j] = wake_order[j - 1];
			wake_order[j - 1] = t;
		}
	for (int r = 0; r < nwake; r++)
		rank_of[wake_order[r]] = (int16_t)r;
}

static void set_halted(struct cpu *c)
{
	if (c->bsp) {
		__atomic_store_n(&bsp_halted, 1, __ATOMIC_SEQ_CST);
		return;
	}
	int r = rank_of[c->index];
	__atomic_fetch_or(&halted[r / 64], 1ULL << (r % 64), __ATOMIC_SEQ_CST);
}

static void clear_halted(struct cpu *c)
{
	if (c->bsp) {
		__atomic_store_n(&bsp_halted, 0, __ATOMIC_SEQ_CST);
		return;
	}
	int r = rank_of[c->index];
	__atomic_fetch_and(&halted[r / 64], ~(1ULL << (r % 64)), __ATOMIC_SEQ_CST);
}

const char *sched_policy_name(void)
{
	return table.policy == WORKTAB_TASK ? "task" : "share";
}

/* Wakes up to n halted APs, in placement order: the lowest ranks first. */
static void wake_cores(uint64_t n)
{
	for (int w = 0; w < (nwake + 63) / 64 && n > 0; w++) {
		uint64_t bits = __atomic_load_n(&halted[w], __ATOMIC_SEQ_CST);
		while (bits && n > 0) {
			uint64_t bit = bits & -bits;
			bits &= bits - 1;
			/* Claim it: only one waker IPIs a core. */
			if (__atomic_fetch_and(&halted[w], ~bit, __ATOMIC_SEQ_CST) & bit) {
				int r = w * 64 + __builtin_ctzll(bit);
				lapic_send_ipi(cpus[wake_order[r]].apic_id, VEC_WAKE);
				n--;
			}
		}
	}
}

int sched_add(const struct work *w)
{
	int slot = worktab_add(&table, w);
	if (slot >= 0)
		wake_cores(worktab_units(&table, slot));
	return slot;
}

uint64_t sched_withdraw(int slot, const void *owner)
{
	return worktab_withdraw(&table, slot, owner);
}

static void atomic_max(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
	while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, false, __ATOMIC_RELAXED,
						       __ATOMIC_RELAXED))
		;
}

/* Runs the claimed chunk on this core, counted: the flags of worktab_run
 * (WORKTAB_MORE: *cl holds the task's next chunk). */
static int run_chunk(struct cpu *c, struct claim *cl)
{
	int prev = c->state;
	bool timed = !table.slot[cl->slot].w.untimed;  /* ours until it ran */
	__atomic_store_n(&c->state, CPU_BUSY, __ATOMIC_RELAXED);
	uint64_t t0 = rdtsc();
	int r = worktab_run(&table, cl);
	uint64_t dt = rdtsc() - t0;
	__atomic_store_n(&c->busy_tsc, c->busy_tsc + dt, __ATOMIC_RELAXED);
	__atomic_store_n(&c->chunks_done, c->chunks_done + 1, __ATOMIC_RELAXED);
	if (r & WORKTAB_TASK_ENDED)
		__atomic_store_n(&c->tasks_done, c->tasks_done + 1, __ATOMIC_RELAXED);
	if (timed) {
		atomic_max(&chunk_max_tsc, dt);
		if (c->bsp)
			serve_gap_max_tsc = dt > serve_gap_max_tsc ? dt : serve_gap_max_tsc;
		uint64_t us = tsc_to_ns(dt) / 1000;
		int b = us ? 64 - __builtin_clzll(us) : 0;
		b = b < SCHED_CHUNK_BUCKETS ? b : SCHED_CHUNK_BUCKETS - 1;
		__atomic_store_n(&c->chunk_hist[b], c->chunk_hist[b] + 1, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&c->state, prev, __ATOMIC_RELAXED);
	return r;
}

/* Claims work on this core and runs it to the end of the claim (under
 * task, the whole task): false when there was none. */
static bool run_claim(struct cpu *c, int *cursor)
{
	struct claim cl;
	if (!worktab_claim(&table, c->index, cursor, &cl))
		return false;
	bool counted = !c->bsp && table.policy == WORKTAB_TASK;  /* for bsp_may_claim */
	if (counted)
		__atomic_fetch_add(&aps_busy, 1, __ATOMIC_SEQ_CST);
	while (run_chunk(c, &cl) & WORKTAB_MORE)
		;
	if (counted)
		__atomic_fetch_sub(&aps_busy, 1, __ATOMIC_SEQ_CST);
	return true;
}

bool sched_run_one(void)
{
	static int cursor;      /* only the BSP calls this, before its loop */
	return run_claim(this_cpu(), &cursor);
}

void sched_kick_bsp(void)
{
	__atomic_store_n(&bsp_kicked, 1, __ATOMIC_SEQ_CST);
	if (this_cpu()->index != 0 && __atomic_exchange_n(&bsp_halted, 0, __ATOMIC_SEQ_CST))
		lapic_send_ipi(cpus[0].apic_id, VEC_WAKE);      /* the BSP is always cpus[0] */
}

/* Called with interrupts off; returns with them on, after a wake-up. */
static void halt(struct cpu *c)
{
	if (*c->stack_guard != STACK_CANARY)
		panic("stack overflow on core %d", c->index);
	__atomic_store_n(&c->state, CPU_HALTED, __ATOMIC_RELAXED);
	__atomic_store_n(&c->halts, c->halts + 1, __ATOMIC_RELAXED);
	sti_hlt();
	clear_halted(c);
	__atomic_store_n(&c->wakes, c->wakes + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&c->state, CPU_IDLE, __ATOMIC_RELAXED);
}

void sched_ap_loop(void)
{
	struct cpu *c = this_cpu();
	int cursor = c->index;          /* cores start their turns at different jobs */
	for (;;) {
		if (run_claim(c, &cursor))
			continue;
		cli();
		set_halted(c);
		if (worktab_has_work(&table)) {
			clear_halted(c);
			sti();
			continue;
		}
		halt(c);
	}
}

/* Whether the BSP claims work now: under share whenever there is some;
 * under task only while every AP is busy, so the paper's master core
 * hands tasks to the others first. */
static bool bsp_may_claim(void)
{
	if (table.policy == WORKTAB_SHARE)
		return true;
	return __atomic_load_n(&aps_busy, __ATOMIC_SEQ_CST) >=
	       __atomic_load_n(&cpus_online, __ATOMIC_SEQ_CST) - 1;
}

void sched_bsp_loop(const struct bsp_ops *ops)
{
	struct cpu *c = this_cpu();
	uint64_t armed = SCHED_NO_DEADLINE;
	struct claim cl;
	bool holding = false;           /* task: cl is the next chunk of our task */
	int cursor = 0;
	for (;;) {
		__atomic_store_n(&bsp_kicked, 0, __ATOMIC_SEQ_CST);
		ops->serve();
		ops->deliver();
		if (holding || (bsp_may_claim() && worktab_claim(&table, c->index, &cursor, &cl))) {
			holding = run_chunk(c, &cl) & WORKTAB_MORE;
			continue;
		}
		if (worktab_has_work(&table)) {
			pause();        /* task: an AP is about to take it */
			continue;
		}
		cli();
		set_halted(c);
		if (__atomic_load_n(&bsp_kicked, __ATOMIC_SEQ_CST) || worktab_has_work(&table)) {
			clear_halted(c);
			sti();
			continue;
		}
		/* Arm the one-shot timer only when something is due; with no
		 * deadline no timer runs at all. */
		uint64_t dl = ops->next_deadline_ns();
		if (dl != armed) {
			if (dl == SCHED_NO_DEADLINE)
				lapic_timer_cancel();
			else
				dl = lapic_timer_oneshot(dl);
			armed = dl;
		}
		halt(c);
		if (armed != SCHED_NO_DEADLINE && time_ns() >= armed)
			armed = SCHED_NO_DEADLINE;      /* the shot was spent */
	}
}

int sched_core_index(void)
{
	return cpu_index();
}

void sched_stats(struct sched_stats *s)
{
	s->ncores = ncpus;
	s->online = __atomic_load_n(&cpus_online, __ATOMIC_RELAXED);
	s->policy = sched_policy_name();
	s->queue_depth = worktab_tasks_waiting(&table);
	s->bsp_serve_gap_max_ns = tsc_to_ns(__atomic_load_n(&serve_gap_max_tsc, __ATOMIC_RELAXED));
	s->halted_aps = 0;
	for (int w = 0; w < (nwake + 63) / 64; w++)     /* no popcnt in the baseline ISA */
		for (uint64_t b = __atomic_load_n(&halted[w], __ATOMIC_RELAXED); b; b &= b - 1)
			s->halted_aps++;
}

void sched_chunk_stats(struct sched_chunk_stats *s)
{
	s->max_ns = tsc_to_ns(__atomic_load_n(&chunk_max_tsc, __ATOMIC_RELAXED));
	for (int b = 0; b < SCHED_CHUNK_BUCKETS; b++)
		s->hist[b] = 0;
	for (int i = 0; i < ncpus; i++)
		for (int b = 0; b < SCHED_CHUNK_BUCKETS; b++)
			s->hist[b] += __atomic_load_n(&cpus[i].chunk_hist[b], __ATOMIC_RELAXED);
}

void sched_core_stats(int i, struct sched_core_stats *s)
{
	const struct cpu *c = &cpus[i];
	s->id = c->index;
	s->apic_id = c->apic_id;
	s->bsp = c->bsp;
	s->online = __atomic_load_n(&c->online, __ATOMIC_ACQUIRE);
	int st = __atomic_load_n(&c->state, __ATOMIC_RELAXED);
	s->state = st == CPU_BUSY ? SCHED_CORE_BUSY : st == CPU_HALTED ? SCHED_CORE_HALTED :
		   SCHED_CORE_IDLE;
	s->halts = __atomic_load_n(&c->halts, __ATOMIC_RELAXED);
	s->wakes = __atomic_load_n(&c->wakes, __ATOMIC_RELAXED);
	s->tasks_done = __atomic_load_n(&c->tasks_done, __ATOMIC_RELAXED);
	s->chunks_done = __atomic_load_n(&c->chunks_done, __ATOMIC_RELAXED);
	s->busy_ns = tsc_to_ns(__atomic_load_n(&c->busy_tsc, __ATOMIC_RELAXED));
}
