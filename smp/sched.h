/* sched.h - the cores' loops around the work table (worktab.h): every
 * core claims chunks of the jobs in flight and runs each to completion
 * (no preemption); idle cores sit in HLT with no timer tick; new work
 * wakes only as many of them as it can use, with an IPI. The BSP owns the
 * network: between two chunks it serves it and delivers finished jobs. */
#ifndef SMP_SCHED_H
#define SMP_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "worktab.h"

enum sched_placement {
	PLACE_SPREAD,   /* one chunk per physical core first (default) */
	PLACE_PACK,     /* fill hyper-thread siblings first */
};

/* What the BSP does between chunks. Its loop is: serve, deliver, then run
 * one chunk (under share always when there is one; under task only while
 * every AP is busy) or halt. */
struct bsp_ops {
	void (*serve)(void);            /* drain device and protocol work */
	void (*deliver)(void);          /* answer for finished work */
	uint64_t (*next_deadline_ns)(void);     /* SCHED_NO_DEADLINE if none */
};
#define SCHED_NO_DEADLINE UINT64_MAX
#define SCHED_CHUNK_BUCKETS 24

/* Once, after the cpu table and before the APs start. */
void sched_init(enum worktab_policy policy);
/* Orders the APs for wake-ups; before smp_start_aps (an AP that halts
 * publishes itself by its rank in this order). */
void sched_set_placement(enum sched_placement p);
/* Hands a job's chunks to the cores and wakes the halted ones it can use:
 * its slot, or -1 when WORKTAB_SLOTS jobs are in flight. BSP only. */
int sched_add(const struct work *w);
/* Takes back the chunks of owner's job in slot that no core claimed (a
 * cancel): how many. BSP only. */
uint64_t sched_withdraw(int slot, const void *owner);
/* Claims one chunk and runs it (under task, its whole task) on this
 * core; false when there was none. */
bool sched_run_one(void);
/* Makes the BSP run its loop soon: from interrupt handlers and from cores
 * that finished work the BSP must answer for. Any core. */
void sched_kick_bsp(void);

void sched_ap_loop(void) __attribute__((noreturn));
void sched_bsp_loop(const struct bsp_ops *ops) __attribute__((noreturn));
const char *sched_policy_name(void);
/* The dense index of the running core (for per-core result slots). */
int sched_core_index(void);

/* Snapshots for the control plane: read while the cores run. */
struct sched_core_stats {
	int id;                 /* dense index */
	uint32_t apic_id;
	bool bsp;
	bool online;
	int state;              /* SCHED_CORE_IDLE, _BUSY, _HALTED */
	uint64_t halts, wakes, tasks_done, chunks_done, busy_ns;
};
enum { SCHED_CORE_IDLE, SCHED_CORE_BUSY, SCHED_CORE_HALTED };
struct sched_stats {
	int ncores;             /* cores discovered */
	int online;             /* cores that started */
	const char *policy;     /* "share" or "task" */
	uint64_t queue_depth;   /* tasks of the jobs in flight not yet started */
	/* The longest the network waited while the BSP ran a chunk: 0 until
	 * the BSP ran one. */
	uint64_t bsp_serve_gap_max_ns;
	/* APs in HLT and not yet being woken: a count that costs a
	 * popcount per 64 cores, not a read of every core. */
	int halted_aps;
};
void sched_stats(struct sched_stats *s);
/* How long chunks ran: a read of every core's histogram, so not for the
 * cheap paths (the event streams' signature). */
struct sched_chunk_stats {
	uint64_t max_ns;        /* the longest chunk any core ran */
	/* Chunks of all cores by duration: [0] under 1 us, [b] from 2^(b-1)
	 * to 2^b us, the last open-ended. */
	uint64_t hist[SCHED_CHUNK_BUCKETS];
};
void sched_chunk_stats(struct sched_chunk_stats *s);
/* Core i, 0 <= i < ncores. */
void sched_core_stats(int i, struct sched_core_stats *s);

#endif
