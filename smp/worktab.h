/* worktab.h - the jobs in flight, as the cores see them: each job is a
 * number of tasks, each task a number of chunks, and a core claims its
 * next chunk with one LOCK XADD on the job (API.md section 1, sched=).
 *
 *   share: the cores take turns over the jobs, one chunk at a time: each
 *          core keeps a cursor into the table and claims from the next
 *          job after the one it last served, so every job in flight gets
 *          an equal share of the cores whatever its size.
 *   task:  the paper's policy: a core claims a whole task (all its
 *          chunks, run back to back) from the oldest job that has one.
 *
 * No locks on the claim path. A job's slot is reused only after no core
 * still looks at it: each core publishes the slot it is about to claim
 * from (a hazard), and worktab_add waits for the hazards of the slot it
 * fills. Pure: the host unit tests run it on pthreads. */
#ifndef SMP_WORKTAB_H
#define SMP_WORKTAB_H

#include <stdbool.h>
#include <stdint.h>

#define WORKTAB_SLOTS 64        /* jobs in flight; one bit each in a word */

enum worktab_policy { WORKTAB_SHARE, WORKTAB_TASK };

/* What a job asks of the cores; the owner's memory stays valid until
 * finished has been called. */
struct work {
	uint32_t tasks;                 /* >= 1 */
	/* chunk_start[t] .. chunk_start[t + 1] - 1 are task t's chunks;
	 * chunk_start[0] = 0, every task at least one chunk. */
	const uint64_t *chunk_start;
	/* tasks entries: chunks of task t not yet ended; worktab_add sets them. */
	uint64_t *task_left;
	/* Runs chunk c (0-based within task t), on any core, to completion. */
	void (*run)(void *owner, uint32_t t, uint64_t c);
	/* The job's last chunk ended, on the core that ran it (or on the
	 * core that withdrew the rest). all_ran: no chunk was withdrawn. The
	 * slot is freed right after it returns. */
	void (*finished)(void *owner, bool all_ran);
	void *owner;
};

struct worktab_slot {
	struct work w;                  /* written by worktab_add, read-only after */
	uint64_t nchunks;               /* chunk_start[tasks] */
	uint64_t seq;                   /* arrival order */
	int withdrawn;                  /* worktab_withdraw took chunks back (atomic) */
	uint64_t started;               /* tasks a core has claimed a chunk of (atomic) */
	/* share: the next chunk to claim; task: the next task. Atomic. */
	uint64_t next __attribute__((aligned(64)));
	uint64_t tasks_left;            /* tasks not yet ended (atomic) */
};

struct worktab {
	struct worktab_slot slot[WORKTAB_SLOTS];
	uint64_t used;                  /* bit i: slot i holds a job (atomic) */
	uint64_t active;                /* bit i: slot i may have a chunk to claim (atomic) */
	int *hazard;                    /* per core: 1 + the slot it looks at, 0 none */
	int ncores;
	enum worktab_policy policy;
	uint64_t next_seq;              /* worktab_add only */
};

/* The chunks a core owns: [first, end) of the job in slot, all in task t. */
struct claim {
	int slot;
	uint32_t task;
	uint64_t first, end;            /* global chunk numbers */
};

/* Bits of what worktab_step did. */
#define WORKTAB_TASK_ENDED 1            /* the chunk was its task's last to end */
#define WORKTAB_JOB_ENDED  2            /* and its job's: finished was called */

/* hazards: ncores ints. */
void worktab_init(struct worktab *t, int *hazards, int ncores, enum worktab_policy p);
/* Adds a job: its slot number, or -1 when WORKTAB_SLOTS are in flight.
 * One caller at a time (the BSP). */
int worktab_add(struct worktab *t, const struct work *w);
/* Claims chunks for core (0..ncores-1): true and *c filled, or false
 * when no job has a chunk left. *cursor is the core's own rotation
 * state (share), kept between calls. */
bool worktab_claim(struct worktab *t, int core, int *cursor, struct claim *c);
/* Runs the claim's next chunk (c->first, then advances it). */
int worktab_step(struct worktab *t, struct claim *c);
/* Takes back every chunk of slot's job that no core has claimed: the
 * number taken (0 when all were claimed: the job will end with all its
 * work done). May call finished, on this core. One caller at a time
 * (the BSP), never for a slot whose job it saw finish. */
uint64_t worktab_withdraw(struct worktab *t, int slot);
/* Whether any job has a chunk left to claim (for the halt decision). */
bool worktab_has_work(const struct worktab *t);
/* Tasks of the jobs in flight that no core has started (a snapshot). */
uint64_t worktab_tasks_waiting(const struct worktab *t);
/* How many cores a new job of this many tasks and chunks can use now. */
static inline uint64_t worktab_parallelism(const struct worktab *t, uint32_t tasks,
					   uint64_t nchunks)
{
	return t->policy == WORKTAB_TASK ? tasks : nchunks;
}

#endif
