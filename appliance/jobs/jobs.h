/* jobs.h - the job engine both endpoints share: a job (limit, tasks, mode)
 * becomes tasks of bounded chunks (API.md section 1) that every core
 * claims from the work table (smp/worktab.h); each chunk adds its count
 * into its core's own slot of the job (indexed by the core's dense index,
 * the per-CPU table's order of APIC IDs), and the BSP sums the slots when the last chunk
 * is done. Knows no protocol and counts no protocol error. Its clock, the
 * work table and the core index are given at init (struct
 * jobs_platform), so the host unit tests run it on a fake clock. All
 * calls but the chunk bodies run on the BSP. */
#ifndef APPLIANCE_JOBS_H
#define APPLIANCE_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../smp/worktab.h"
#include "primes.h"

#define JOBS_MAX_INFLIGHT 64            /* API.md "Capacities" */
#define JOBS_HISTORY      256
#define JOBS_TASKS_MAX    1024          /* API.md section 1 */
#define JOBS_LIMIT_MAX    PRIMES_LIMIT_MAX      /* API.md section 1 */
/* The heap rule: a job is refused (JOB_EBUSY, so `ERR busy` / 503) when
 * its allocations, jobs_mem_need(spec), would leave less than this much
 * heap free (platform mem_free) for the network and the HTTP connections
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

/* A caller that waits for a job's end owns one of these (embedded in its
 * own state: an HTTP connection's, a UDP peer's) and hands it to
 * jobs_submit or jobs_wait. done runs on the BSP once the job ended
 * (done or cancelled), from jobs_poll; the engine has let go of the
 * waiter by then, so done may reuse it at once. */
struct job_waiter {
	void (*done)(struct job_waiter *w, const struct job_info *info);
	/* The engine's, while it holds the waiter: */
	struct job_waiter *next;        /* the job's other waiters */
	uint64_t job;                   /* the job waited for; 0: not held */
};

/* Sees every state change of every job, as the BSP sees it: submitted
 * (queued), its first chunk seen started (running, from jobs_poll),
 * cancelled (from jobs_cancel, once) and done (from jobs_poll, after its
 * waiters: a waiter that submits a job has that job's queued reported
 * before this one's done). A job may skip running (it ended between two
 * polls). Subscribed with jobs_observe; the observer's memory stays
 * valid. */
struct jobs_observer {
	void (*changed)(const struct job_info *info);
	struct jobs_observer *next;     /* the engine's */
};

/* What the engine runs on: the clock, the cores and their work table
 * (smp/sched.h), given by the composition root. */
struct jobs_platform {
	uint64_t (*now_ns)(void);
	/* Hands a job's chunks to the cores: its slot, or -1 when full. */
	int (*add)(const struct work *w);
	/* Takes back the chunks of owner's job in slot that no core has
	 * claimed: how many (0 when it ended or all are claimed). */
	uint64_t (*withdraw)(int slot, const void *owner);
	int (*core_index)(void);        /* running core, 0..ncores-1 */
	int ncores;
	void (*kick)(void);             /* a job's last chunk ended: jobs_poll soon */
	/* Heap bytes free now, for the heap rule (JOBS_HEAP_RESERVE); NULL:
	 * no rule (host tests). */
	size_t (*mem_free)(void);
};

enum job_err {
	JOB_OK = 0,
	JOB_EBUSY,      /* 64 jobs in flight, or the heap rule (JOBS_HEAP_RESERVE) */
	JOB_EINVAL,     /* the spec fails job_spec_check */
	JOB_ENOMEM,     /* no memory for the job: refused before anything ran */
	JOB_ETOOBIG,    /* its estimated work is over the cap (jobs_set_cap) */
};

/* What jobs_cancel found. */
enum job_cancel {
	JOB_CANCEL_DONE,        /* cancelled now: info is the job, cancelled */
	JOB_CANCEL_UNKNOWN,     /* no such job in flight or in the history */
	JOB_CANCEL_ENDED,       /* it had ended already: info is the final job */
	/* Every chunk of it is claimed, so it ends done, with its result,
	 * within one chunk time (info: the job as it runs); jobs_wait sees
	 * that end. */
	JOB_CANCEL_FINISHING,
};

struct job_counters {
	uint64_t accepted, done, cancelled, rejected;
	uint64_t too_big;       /* refused by max_job_s */
	uint64_t running;       /* queued or running now (64 bits: no padding, the
				 * status signature hashes these bytes) */
	uint64_t tasks_capacity;        /* tasks admitted at most (queue.capacity) */
};

void jobs_init(const struct jobs_platform *p);
/* max_job_s (API.md section 4): from now on a job whose estimated work is
 * more than max_s seconds of one core is refused (JOB_ETOOBIG); 0: no
 * cap. Measures this core's speed on the workload first (tens of ms
 * under TCG), on the BSP at boot. */
void jobs_set_cap(uint64_t max_s);
/* A job's estimated work in microseconds of one core (0 until a cap is
 * set: nothing measured the speed), and the cap itself (0: none). */
uint64_t jobs_estimate_us(const struct job_spec *spec);
uint64_t jobs_cap_us(void);
/* Adds an observer (at the end of the list). */
void jobs_observe(struct jobs_observer *o);
/* Heap bytes jobs_submit allocates for a valid spec, an upper bound with
 * the allocator's header: the per-core slots, each task's chunk counts
 * and, in split mode, its range and chunk length. One allocation per
 * job, none per chunk. */
size_t jobs_mem_need(const struct job_spec *spec);
/* submitted_ns: when the request arrived (the clock of `us` in replies).
 * w (may be NULL): told when the job ends. */
enum job_err jobs_submit(const struct job_spec *spec, uint64_t submitted_ns, struct job_waiter *w,
			 uint64_t *id);
/* Tells w when job id ends: false (w untouched) when it is not in
 * flight. A waiter waits for one job at a time. */
bool jobs_wait(uint64_t id, struct job_waiter *w);
/* Lets go of w if the engine holds it (its owner goes away). */
void jobs_unwait(struct job_waiter *w);
/* Cancels a queued or running job (API.md: DELETE): takes back its chunks
 * no core has claimed; the claimed ones end as they run, within one chunk
 * time. info is filled in whenever the job is known. A job whose last
 * chunk has ended is done, even before jobs_poll ran. Calls no waiter. */
enum job_cancel jobs_cancel(uint64_t id, struct job_info *info);
/* Looks a job up in flight or in the history. */
bool jobs_get(uint64_t id, struct job_info *info);
/* Finishes jobs whose last chunk ended: sums the per-core slots, calls
 * their waiters, moves them to the history; reports jobs whose first
 * chunk started. Only from the BSP loop, between chunks. */
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
