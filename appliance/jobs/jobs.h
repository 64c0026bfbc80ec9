/* jobs.h - the job engine both endpoints share: a job (limit, tasks, mode)
 * becomes run-to-completion tasks on every core; each core adds its
 * tasks' results into its own slot of the job (indexed by the core's
 * dense index, found from its APIC ID), and the BSP sums the slots when
 * the last task is done. Knows no protocol and counts no protocol error.
 * Its clock, the task queue and the core index are given at init, so the
 * host unit tests run it on a fake clock. All calls but the task bodies
 * run on the BSP. */
#ifndef APPLIANCE_JOBS_H
#define APPLIANCE_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../smp/sched.h"
#include "primes.h"

#define JOBS_MAX_INFLIGHT 64            /* API.md "Capacities" */
#define JOBS_HISTORY      256
#define JOBS_TASKS_MAX    1024          /* API.md section 1 */
#define JOBS_LIMIT_MAX    PRIMES_LIMIT_MAX      /* API.md section 1 */
/* The heap rule: a job is refused (JOB_EBUSY, so `ERR busy` / 503) when
 * its allocations, jobs_mem_need(spec), would leave less than this much
 * heap free (env.mem_free) for the network and the HTTP connections
 * (12 KiB of request buffer each, and their answers). The job is refused
 * before anything is allocated: a full appliance never makes malloc fail. */
#define JOBS_HEAP_RESERVE (256u << 10)

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_CANCELLED };
enum job_mode { JOB_REPEAT, JOB_SPLIT };

/* What a client asks for: the one job spec of both endpoints. */
struct job_spec {
	uint64_t limit;         /* 0..JOBS_LIMIT_MAX */
	uint32_t tasks;         /* 1..JOBS_TASKS_MAX */
	enum job_mode mode;
};

enum job_spec_err {
	JOB_SPEC_OK = 0,
	JOB_SPEC_LIMIT_RANGE,   /* limit above JOBS_LIMIT_MAX */
	JOB_SPEC_TASKS_ZERO,
	JOB_SPEC_TASKS_RANGE,   /* tasks above JOBS_TASKS_MAX */
	JOB_SPEC_MODE,
};

/* The one place the limits of API.md section 1 are checked. Pure. */
enum job_spec_err job_spec_check(const struct job_spec *s);
/* A spec with the defaults: tasks 1, mode repeat. */
static inline struct job_spec job_spec_default(void)
{
	return (struct job_spec){ .limit = 0, .tasks = 1, .mode = JOB_REPEAT };
}

/* What a client sees of a job, in flight or in the history. */
struct job_info {
	uint64_t id;
	enum job_state state;
	struct job_spec spec;
	bool has_result;
	uint64_t result;
	uint64_t submitted_ns;  /* clock at submission */
	uint64_t elapsed_ns;    /* submission to end, or to now while running */
};

/* Runs on the BSP once the job ended (done or cancelled), from jobs_poll. */
typedef void (*job_done_fn)(const struct job_info *info, void *ctx);

/* What the engine runs on: given by the composition root. */
struct jobs_env {
	uint64_t (*now_ns)(void);
	bool (*submit)(struct task **tasks, int n);     /* all or none */
	uint64_t (*queue_room)(void);                   /* tasks that fit now */
	int (*core_index)(void);        /* running core, 0..ncores-1 */
	int ncores;
	void (*yield)(void);            /* from long tasks, now and then; may be NULL */
	void (*kick)(void);             /* a job's last task ended: jobs_poll soon */
	/* Each state change of a job, as the BSP sees it: submitted
	 * (queued), its first task seen started (running, from jobs_poll),
	 * cancelled (from jobs_cancel) and done (from jobs_poll, after the
	 * done callback: a callback that submits a job has that job's queued
	 * reported before this one's done). A job may skip running (it
	 * ended between two polls); a cancelled job is reported once, when
	 * cancelled. May be NULL. */
	void (*on_change)(const struct job_info *info);
	/* Test only: called for every job that ended, after its callback. */
	void (*on_end)(const struct job_info *info);
	/* Heap bytes free now, for the heap rule (JOBS_HEAP_RESERVE); NULL:
	 * no rule, malloc alone decides. */
	size_t (*mem_free)(void);
};

enum job_err {
	JOB_OK = 0,
	JOB_EBUSY,      /* 64 jobs in flight, no queue room for the tasks, or the
			 * heap rule (JOBS_HEAP_RESERVE) */
	JOB_EINVAL,     /* the spec fails job_spec_check */
	JOB_ENOMEM,     /* no memory for the job's tasks: refused before anything ran */
};

struct job_counters {
	uint64_t accepted, done, cancelled, rejected;
	uint32_t running;       /* queued or running now */
};

void jobs_init(const struct jobs_env *env);
/* Heap bytes jobs_submit allocates for a valid spec, an upper bound with
 * the allocator's headers: its tasks, the array handed to the queue, the
 * per-core slots and, in split mode, the bounds. */
size_t jobs_mem_need(const struct job_spec *spec);
/* submitted_ns: when the request arrived (the clock of `us` in replies). */
enum job_err jobs_submit(const struct job_spec *spec, uint64_t submitted_ns, job_done_fn done,
			 void *ctx, uint64_t *id);
/* Sets the cancel flag of a queued or running job: 0, -1 if unknown,
 * 1 if it already ended (info filled in whenever the job is known). A job
 * whose last task has finished is done, even before jobs_poll ran. Never
 * calls a done callback. */
int jobs_cancel(uint64_t id, struct job_info *info);
/* Looks a job up in flight or in the history. */
bool jobs_get(uint64_t id, struct job_info *info);
/* Finishes jobs whose last task completed: sums the per-core slots,
 * calls their done callbacks, moves them to the history; reports jobs
 * whose first task started (env.on_change). Only from the top of the BSP
 * loop. */
void jobs_poll(void);
void jobs_counters(struct job_counters *c);
/* Calls fn for up to max jobs, newest first: in flight, then history. */
void jobs_list(int max, void (*fn)(const struct job_info *info, void *arg), void *arg);

static inline const char *job_state_name(enum job_state s)
{
	return s == JOB_QUEUED ? "queued" : s == JOB_RUNNING ? "running" :
	       s == JOB_DONE ? "done" : "cancelled";
}

static inline const char *job_mode_name(enum job_mode m)
{
	return m == JOB_SPLIT ? "split" : "repeat";
}

#endif
