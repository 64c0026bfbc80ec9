/* jobs.h - the job engine both endpoints share: a job (limit, tasks, mode)
 * becomes run-to-completion tasks on every core; each core adds its
 * tasks' results into its own slot of the job (indexed by the core's
 * dense index, found from its APIC ID), and the BSP sums the slots when
 * the last task is done. Knows no protocol. All calls but the task bodies
 * run on the BSP. */
#ifndef APPLIANCE_JOBS_H
#define APPLIANCE_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#define JOBS_MAX_INFLIGHT 64            /* API.md "Capacities" */
#define JOBS_HISTORY      256
#define JOBS_TASKS_MAX    1024

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_CANCELLED };
enum job_mode { JOB_REPEAT, JOB_SPLIT };

/* What a client sees of a job, in flight or in the history. */
struct job_info {
	uint64_t id;
	enum job_state state;
	uint64_t limit;
	uint32_t tasks;
	enum job_mode mode;
	bool has_result;
	uint64_t result;
	uint64_t submitted_ns;  /* time_ns() at submission */
	uint64_t elapsed_ns;    /* submission to end, or to now while running */
};

struct job;
/* Runs on the BSP once the job ended (done or cancelled). */
typedef void (*job_done_fn)(const struct job_info *info, void *ctx);

enum job_err {
	JOB_OK = 0,
	JOB_EBUSY,      /* 64 jobs in flight or no queue room for the tasks */
	JOB_EINVAL,     /* limit or tasks out of range, unknown mode */
	JOB_ENOMEM,
};

struct job_counters {
	uint64_t accepted, done, cancelled, rejected, bad;
	uint32_t running;       /* queued or running now */
};

void jobs_init(void);
/* submitted_ns: when the request arrived (the clock of `us` in replies). */
enum job_err jobs_submit(uint64_t limit, uint32_t tasks, enum job_mode mode,
			 uint64_t submitted_ns, job_done_fn done, void *ctx, uint64_t *id);
/* Sets the cancel flag of a queued or running job. 0, -1 if unknown,
 * 1 if it already ended (info filled in either case it is known). */
int jobs_cancel(uint64_t id, struct job_info *info);
/* Looks a job up in flight or in the history. */
bool jobs_get(uint64_t id, struct job_info *info);
/* Finishes jobs whose last task completed: sums the per-core slots,
 * calls their done callbacks, moves them to the history. BSP loop. */
void jobs_poll(void);
void jobs_count_bad(void);
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
