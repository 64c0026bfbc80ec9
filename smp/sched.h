/* sched.h - run-to-completion tasks on every core. No preemption: a task
 * runs to its end on the core that took it. Idle cores sit in HLT; new
 * work wakes only as many of them as it needs, with an IPI. */
#ifndef SMP_SCHED_H
#define SMP_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#define SCHED_QUEUE_CAPACITY 1024

struct task {
	void (*run)(struct task *t);    /* runs on any core, to completion */
};

enum sched_placement {
	PLACE_SPREAD,   /* one task per physical core first (default) */
	PLACE_PACK,     /* fill hyper-thread siblings first */
};

/* What the BSP does between tasks; it owns the network. Its loop is:
 * serve, deliver, then run a task (only when every AP is busy) or halt. */
struct bsp_ops {
	void (*serve)(void);            /* drain device and protocol work */
	void (*deliver)(void);          /* answer for finished work; loop top only */
	uint64_t (*next_deadline_ns)(void);     /* SCHED_NO_DEADLINE if none */
};
#define SCHED_NO_DEADLINE UINT64_MAX

void sched_init(void);          /* once, before the APs start */
/* Orders the APs for wake-ups; before smp_start_aps (an AP that halts
 * publishes itself by its rank in this order). */
void sched_set_placement(enum sched_placement p);
/* Enqueues n tasks (all or none) and wakes the halted cores they need.
 * Returns false when the queue lacks room for all n: never a panic. */
bool sched_submit(struct task **tasks, int n);
/* Room for this many more tasks (a lower bound while consumers run). */
uint64_t sched_queue_room(void);
/* Pops and runs one task on this core; false if the queue was empty. */
bool sched_run_one(void);
/* Makes the BSP run ops->poll soon: from interrupt handlers and from
 * cores that finished work the BSP must answer for. Any core. */
void sched_kick_bsp(void);
/* Called by long tasks now and then. On the BSP, runs ops->serve when
 * SCHED_YIELD_NS passed since it last ran, so that the network is served
 * while the BSP computes (cooperative: nothing preempts a task, the task
 * itself offers the moment). Never delivers finished work nor runs
 * another task. Elsewhere it returns at once. */
void sched_bsp_yield(void);
#define SCHED_YIELD_NS 1000000ULL
/* How long tasks wait, every AP busy, before the BSP takes one itself. */
#define SCHED_BSP_GRACE_NS 5000000ULL

void sched_ap_loop(void) __attribute__((noreturn));
void sched_bsp_loop(const struct bsp_ops *ops) __attribute__((noreturn));
const char *sched_placement_name(void);
/* The dense index of the running core (for per-core result slots). */
int sched_core_index(void);

/* Snapshots for the control plane: read while the cores run. */
struct sched_core_stats {
	int id;                 /* dense index */
	uint32_t apic_id;
	bool bsp;
	bool online;
	int state;              /* SCHED_CORE_IDLE, _BUSY, _HALTED */
	uint64_t halts, wakes, tasks_done, busy_ns;
};
enum { SCHED_CORE_IDLE, SCHED_CORE_BUSY, SCHED_CORE_HALTED };
struct sched_stats {
	int ncores;             /* cores discovered */
	int online;             /* cores that started */
	uint64_t queue_depth, queue_capacity;
	/* The longest the network waited while the BSP ran a task (its
	 * yields serve it every SCHED_YIELD_NS): 0 until the BSP ran one. */
	uint64_t bsp_serve_gap_max_ns;
	/* APs in HLT and not yet being woken: a count that costs a
	 * popcount per 64 cores, not a read of every core. */
	int halted_aps;
};
void sched_stats(struct sched_stats *s);
/* Core i, 0 <= i < ncores. */
void sched_core_stats(int i, struct sched_core_stats *s);

#endif
