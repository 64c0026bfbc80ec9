/* sched.c - the idle loops and wake-ups. The rule that keeps a wake-up
 * from being lost: a core publishes "halted" in the halted bitmap, then checks
 * for work with interrupts off, then runs STI;HLT back to back. A waker
 * publishes the work, then claims a halted core's bit (atomic fetch-and)
 * and IPIs it. Whichever comes second sees the other's write.
 *
 * The BSP owns the network and answers for finished jobs, so it is the
 * core of last resort for tasks: a submit wakes APs only, and the BSP
 * takes a task itself only while every AP is busy (with one core, always).
 *
 * The halted APs are a bitmap indexed by wake rank (placement order), so
 * waking n of them costs one find-first-set per 64 cores plus n, not a
 * scan of every core: 16 words at 1024 cores. */
#include "sched.h"

#include "../kernel/cpu.h"
#include "../kernel/lapic.h"
#include "../kernel/panic.h"
#include "../kernel/spinlock.h"
#include "../kernel/time.h"
#include "../kernel/trap.h"
#include "../kernel/x86.h"
#include "taskq.h"

static struct taskq runq;
static struct taskq_cell runq_cells[SCHED_QUEUE_CAPACITY];
static struct spinlock submit_lock;     /* one producer at a time: keeps taskq_room exact */

#define WORDS ((MAX_CPUS + 63) / 64)
static uint64_t halted[WORDS];          /* bit r: the AP of wake rank r is (about to be) in HLT */
static int bsp_halted;                  /* the BSP is (about to be) in HLT */
static volatile int bsp_kicked;
static int16_t wake_order[MAX_CPUS];    /* rank -> core index, APs in placement order */
static int16_t rank_of[MAX_CPUS];       /* core index -> rank; the BSP has none */
static int nwake;                       /* APs ranked */
static int aps_busy;                    /* APs running a task now (atomic) */
/* Tasks submitted beyond the number of APs (a job of more tasks than
 * there are APs): no AP can take them soon, so the BSP takes them without
 * the grace. Submissions and the BSP loop are both on the BSP. */
static int bsp_surplus;
static enum sched_placement placement;
static const struct bsp_ops *bsp_ops;  /* set when the BSP loop starts */
static uint64_t bsp_last_serve_tsc;     /* BSP only */
static uint64_t yield_tsc;              /* SCHED_YIELD_NS in TSC cycles */
static uint64_t grace_tsc;              /* SCHED_BSP_GRACE_NS in TSC cycles */
static uint64_t serve_gap_max_tsc;      /* BSP only: longest wait of the network inside a task */

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

void sched_init(void)
{
	taskq_init(&runq, runq_cells, SCHED_QUEUE_CAPACITY);
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

const char *sched_placement_name(void)
{
	return placement == PLACE_PACK ? "pack" : "spread";
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

bool sched_submit(struct task **tasks, int n)
{
	spin_lock(&submit_lock);
	bool ok = n >= 0 && (uint64_t)n <= taskq_room(&runq);
	for (int i = 0; ok && i < n; i++)
		kassert(taskq_push(&runq, tasks[i]));   /* room was promised */
	spin_unlock(&submit_lock);
	if (!ok)
		return false;
	int aps = __atomic_load_n(&cpus_online, __ATOMIC_SEQ_CST) - 1;
	if (this_cpu()->bsp && n > aps)
		bsp_surplus += n - aps;
	wake_cores((uint64_t)n);
	return true;
}

uint64_t sched_queue_room(void)
{
	return taskq_room(&runq);
}

bool sched_run_one(void)
{
	struct task *t = taskq_pop(&runq);
	if (!t)
		return false;
	struct cpu *c = this_cpu();
	int prev = c->state;
	__atomic_store_n(&c->state, CPU_BUSY, __ATOMIC_RELAXED);
	if (!c->bsp)
		__atomic_fetch_add(&aps_busy, 1, __ATOMIC_SEQ_CST);
	uint64_t t0 = rdtsc();
	t->run(t);
	__atomic_store_n(&c->busy_tsc, c->busy_tsc + (rdtsc() - t0), __ATOMIC_RELAXED);
	__atomic_store_n(&c->tasks_done, c->tasks_done + 1, __ATOMIC_RELAXED);
	if (!c->bsp)
		__atomic_fetch_sub(&aps_busy, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&c->state, prev, __ATOMIC_RELAXED);
	return true;
}

void sched_bsp_yield(void)
{
	if (!this_cpu()->bsp || !bsp_ops)
		return;
	uint64_t now = rdtsc();
	if (now - bsp_last_serve_tsc < yield_tsc)
		return;
	if (now - bsp_last_serve_tsc > serve_gap_max_tsc)
		__atomic_store_n(&serve_gap_max_tsc, now - bsp_last_serve_tsc, __ATOMIC_RELAXED);
	bsp_last_serve_tsc = now;
	__atomic_store_n(&bsp_kicked, 0, __ATOMIC_SEQ_CST);
	bsp_ops->serve();        /* never runs a task: no way back in here */
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
	for (;;) {
		if (sched_run_one())
			continue;
		cli();
		set_halted(c);
		if (taskq_depth(&runq)) {
			clear_halted(c);
			sti();
			continue;
		}
		halt(c);
	}
}

/* Queued tasks the APs will not take soon: tasks of a job beyond the
 * number of APs (at once), or every AP busy, with tasks waiting, for
 * SCHED_BSP_GRACE_NS. An AP that just finished a task (its job answered,
 * the next request already in) is still counted busy for a moment: the
 * grace lets it take the next task itself. */
static bool bsp_should_run_task(uint64_t *waiting_since)
{
	uint64_t depth = taskq_depth(&runq);
	if ((uint64_t)bsp_surplus > depth)
		bsp_surplus = (int)depth;       /* the APs took some of them */
	if (!depth) {
		*waiting_since = 0;
		return false;
	}
	wake_cores(depth);                      /* belt and braces: never leave an AP asleep */
	if (bsp_surplus > 0) {
		bsp_surplus--;
		return true;
	}
	if (__atomic_load_n(&aps_busy, __ATOMIC_SEQ_CST) <
	    __atomic_load_n(&cpus_online, __ATOMIC_SEQ_CST) - 1) {
		*waiting_since = 0;
		return false;
	}
	uint64_t now = rdtsc();
	if (!*waiting_since)
		*waiting_since = now;
	return nwake == 0 || now - *waiting_since >= grace_tsc;
}

void sched_bsp_loop(const struct bsp_ops *ops)
{
	struct cpu *c = this_cpu();
	uint64_t armed = SCHED_NO_DEADLINE;
	yield_tsc = time_scale(SCHED_YIELD_NS, tsc_hz, 1000000000ULL);
	grace_tsc = time_scale(SCHED_BSP_GRACE_NS, tsc_hz, 1000000000ULL);
	uint64_t waiting_since = 0;             /* tasks queued, every AP busy, since */
	bsp_ops = ops->serve ? ops : NULL;
	for (;;) {
		__atomic_store_n(&bsp_kicked, 0, __ATOMIC_SEQ_CST);
		if (ops->serve)
			ops->serve();
		bsp_last_serve_tsc = rdtsc();
		if (ops->deliver)
			ops->deliver();
		if (bsp_should_run_task(&waiting_since) && sched_run_one()) {
			waiting_since = 0;
			continue;
		}
		if (taskq_depth(&runq)) {
			pause();        /* an AP is about to take it */
			continue;
		}
		cli();
		set_halted(c);
		if (__atomic_load_n(&bsp_kicked, __ATOMIC_SEQ_CST) || taskq_depth(&runq)) {
			clear_halted(c);
			sti();
			continue;
		}
		/* Arm the one-shot timer only when something is due; with no
		 * deadline no timer runs at all. */
		uint64_t dl = ops->next_deadline_ns ? ops->next_deadline_ns() : SCHED_NO_DEADLINE;
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
	s->queue_depth = taskq_depth(&runq);
	s->queue_capacity = taskq_capacity(&runq);
	s->bsp_serve_gap_max_ns = tsc_to_ns(__atomic_load_n(&serve_gap_max_tsc, __ATOMIC_RELAXED));
	s->halted_aps = 0;
	for (int w = 0; w < (nwake + 63) / 64; w++)     /* no popcnt in the baseline ISA */
		for (uint64_t b = __atomic_load_n(&halted[w], __ATOMIC_RELAXED); b; b &= b - 1)
			s->halted_aps++;
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
	s->busy_ns = tsc_to_ns(__atomic_load_n(&c->busy_tsc, __ATOMIC_RELAXED));
}
