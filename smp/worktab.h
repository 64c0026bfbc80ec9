/* worktab.h - the jobs in flight, as the cores see them: each job is a
 * number of tasks, each task a number of chunks of bounded work, and a
 * core claims its next chunk with one LOCK XADD on the job (API.md
 * section 1, sched=).
 *
 *   share: the cores take turns over the jobs, one chunk at a time: each
 *          core keeps a cursor into the table and claims from the next
 *          job after the one it last served, so every job in flight gets
 *          an equal share of the cores whatever its size, and any core
 *          may run any chunk of any task (work-conserving).
 *   task:  the paper's policy: a core claims a whole task of the oldest
 *          job that has one, then runs its chunks one after the other,
 *          claiming each from the task (so a cancel stops it between two
 *          chunks).
 *
 * No locks on the claim path. A chunk a core has claimed always runs to
 * its end; a cancel takes back only the chunks no core has claimed
 * (worktab_withdraw), so a job whose chunks were all claimed ends with
 * all its work done. A job's slot is reused only after no core still
 * looks at it: each core publishes the slot it is about to claim from (a
 * hazard), and worktab_add waits for the hazards of the slot it fills.
 * Pure: the host unit tests run it on pthreads. */
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
	/* Task t's chunks are chunk_start[t] .. chunk_start[t + 1] - 1
	 * (chunk_start[0] = 0), or, when chunk_start is NULL, t * per_task ..
	 * (t + 1) * per_task - 1. Every task has at least one chunk. */
	const uint64_t *chunk_start;
	uint64_t per_task;
	/* tasks entries each, the owner's memory, set by worktab_add:
	 * task_left[t]: chunks of task t not yet ended (plus, under task,
	 * one for the core that holds the task); task_next[t]: under task,
	 * the next chunk of task t to claim. */
	uint64_t *task_left;
	uint64_t *task_next;
	/* Runs chunk c (0-based within task t), on any core, to completion. */
	void (*run)(void *owner, uint32_t t, uint64_t c);
	/* The job's last chunk ended, on the core that ran it (or on the
	 * core that withdrew the rest, or on one that claimed a task to find
	 * its chunks withdrawn), after its slot was freed. all_ran:
	 * no chunk was withdrawn. The owner may free its memory once this
	 * returned. */
	void (*finished)(void *owner, bool all_ran);
	void *owner;
	bool untimed;           /* its chunks stay out of the chunk-time figures */
};

struct worktab_slot {
	struct work w;                  /* written by worktab_add, read-only after */
	uint64_t nchunks;               /* chunks of all tasks */
	uint64_t seq;                   /* arrival order */
	int withdrawn;                  /* worktab_withdraw took chunks back (atomic) */
	uint64_t started;               /* tasks a core has claimed a chunk of (atomic) */
	/* share: the next chunk to claim; task: the next task. Atomic, on a
	 * line of its own: every claim writes it. */
	uint64_t next __attribute__((aligned(64)));
	uint64_t tasks_left __attribute__((aligned(64)));      /* tasks not yet ended (atomic) */
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

/* A chunk a core owns: chunk (0-based, within task) of task in slot. */
struct claim {
	int slot;
	uint32_t task;
	uint64_t chunk;
};

/* Bits of what worktab_run did. */
#define WORKTAB_MORE       1            /* task: the claim now holds the task's next chunk */
#define WORKTAB_TASK_ENDED 2            /* the chunk was its task's last to end */
#define WORKTAB_JOB_ENDED  4            /* and its job's: finished was called */

/* hazards: ncores ints. */
void worktab_init(struct worktab *t, int *hazards, int ncores, enum worktab_policy p);
/* Adds a job: its slot number, or -1 when WORKTAB_SLOTS jobs are in
 * flight (a job's slot is free before its finished is called). One
 * caller at a time. */
int worktab_add(struct worktab *t, const struct work *w);
/* Claims a chunk for core (0..ncores-1): true and *c filled, or false
 * when no job has a chunk left. *cursor is the core's own rotation
 * state (share), kept between calls. */
bool worktab_claim(struct worktab *t, int core, int *cursor, struct claim *c);
/* Runs the claimed chunk to its end and releases it. Under task, first
 * claims the task's next chunk: WORKTAB_MORE says *c holds it (to run
 * now or after other business); otherwise *c is spent. */
int worktab_run(struct worktab *t, struct claim *c);
/* Takes back every chunk of owner's job in slot that no core has
 * claimed: the number taken (0 when all were claimed, or the job ended:
 * it ends with all its work done, within one chunk time). May call
 * finished, on this core. Only from the one core that adds jobs. */
uint64_t worktab_withdraw(struct worktab *t, int slot, const void *owner);
/* Whether any job has a chunk left to claim (for the halt decision). */
bool worktab_has_work(const struct worktab *t);
/* Tasks of the jobs in flight that no core has started (a snapshot). */
uint64_t worktab_tasks_waiting(const struct worktab *t);
/* How many cores the job just added in slot can use: its chunks under
 * share, its tasks under task. From the core that adds jobs. */
uint64_t worktab_units(const struct worktab *t, int slot);

#endif
