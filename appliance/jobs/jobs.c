/* jobs.c - jobs on the task queue. A job's tasks each count primes (the
 * whole limit in repeat mode, one equal-work range in split mode), add
 * their count to partial[cpu_index()] (a slot only that core writes) and
 * decrement tasks_left with a LOCK XADD; the one that reaches zero stamps
 * the end time, marks the job complete and kicks the BSP, which sums the
 * slots in jobs_poll and answers. */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/cmdline.h"
#include "../../kernel/console.h"
#include "../../kernel/time.h"
#include "../../smp/cpu.h"
#include "../../smp/sched.h"
#include "primes.h"

struct job_task {
	struct task task;       /* first: the queue hands back struct task * */
	struct job *job;
	uint64_t lo, hi;        /* split mode: this task's range */
};

struct job {
	struct job_info info;   /* state written by the BSP, but see below */
	bool used;              /* slot taken (BSP only) */
	volatile int started;   /* a task began: QUEUED -> RUNNING (atomic) */
	volatile int cancel;    /* set by the BSP, read by the tasks */
	volatile int complete;  /* set by the last task (release) */
	int tasks_left;         /* atomic */
	uint64_t end_ns;        /* written by the last task before complete */
	job_done_fn done;
	void *ctx;
	struct job_task *t;     /* tasks array, freed when the job ends */
	uint64_t partial[MAX_CPUS];     /* per-core result slots */
};

static struct job inflight[JOBS_MAX_INFLIGHT];
static struct job_info history[JOBS_HISTORY];   /* ring, newest at hist_head - 1 */
static uint32_t hist_head, hist_count;
static uint64_t next_id = 1;
static struct job_counters counters;
static bool log_jobs;

void jobs_init(void)
{
	uint64_t v = 0;
	cmdline_get_u64(&boot_cmdline, "test_log_jobs", 0, 1, 0, &v);
	log_jobs = v;
}

/* Every PRIMES_CHECK_STRIDE candidates: stop when cancelled; on the BSP,
 * let the network in (sched_bsp_yield), so that a long task there does
 * not keep requests, including the DELETE that cancels it, waiting. */
static int keep_going(void *arg)
{
	struct job *j = arg;
	sched_bsp_yield();
	return !__atomic_load_n(&j->cancel, __ATOMIC_RELAXED);
}

static void task_run(struct task *t)
{
	struct job_task *jt = (struct job_task *)t;
	struct job *j = jt->job;
	__atomic_store_n(&j->started, 1, __ATOMIC_RELAXED);
	uint64_t r = 0;
	if (!__atomic_load_n(&j->cancel, __ATOMIC_RELAXED)) {
		if (j->info.mode == JOB_SPLIT)
			r = count_primes_range(jt->lo, jt->hi, keep_going, j);
		else
			r = count_primes_range(0, j->info.limit, keep_going, j);
	}
	j->partial[cpu_index()] += r;
	if (__atomic_sub_fetch(&j->tasks_left, 1, __ATOMIC_ACQ_REL) == 0) {
		j->end_ns = time_ns();
		__atomic_store_n(&j->complete, 1, __ATOMIC_RELEASE);
		sched_kick_bsp();
	}
}

enum job_err jobs_submit(uint64_t limit, uint32_t tasks, enum job_mode mode,
			 uint64_t submitted_ns, job_done_fn done, void *ctx, uint64_t *id)
{
	if (limit > PRIMES_LIMIT_MAX || tasks < 1 || tasks > JOBS_TASKS_MAX ||
	    (mode != JOB_REPEAT && mode != JOB_SPLIT)) {
		counters.bad++;
		return JOB_EINVAL;
	}
	struct job *j = NULL;
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++)
		if (!inflight[i].used) {
			j = &inflight[i];
			break;
		}
	if (!j || sched_queue_depth() + tasks > sched_queue_capacity()) {
		counters.rejected++;
		return JOB_EBUSY;
	}
	struct job_task *jt = calloc(tasks, sizeof(*jt));
	struct task **tp = malloc(tasks * sizeof(*tp));
	uint64_t *bounds = mode == JOB_SPLIT ? malloc((tasks + 1) * sizeof(*bounds)) : NULL;
	if (!jt || !tp || (mode == JOB_SPLIT && !bounds)) {
		free(jt);
		free(tp);
		free(bounds);
		counters.rejected++;
		return JOB_ENOMEM;
	}
	memset(j, 0, sizeof(*j));
	j->used = true;
	j->info.id = next_id;
	j->info.state = JOB_QUEUED;
	j->info.limit = limit;
	j->info.tasks = tasks;
	j->info.mode = mode;
	j->info.submitted_ns = submitted_ns;
	j->tasks_left = (int)tasks;
	j->done = done;
	j->ctx = ctx;
	j->t = jt;
	if (bounds)
		primes_split(limit, tasks, bounds);
	for (uint32_t i = 0; i < tasks; i++) {
		jt[i].task.run = task_run;
		jt[i].job = j;
		if (bounds) {
			jt[i].lo = bounds[i];
			jt[i].hi = bounds[i + 1];
		}
		tp[i] = &jt[i].task;
	}
	free(bounds);
	bool ok = sched_submit(tp, (int)tasks);
	free(tp);
	if (!ok) {                      /* cannot happen: room was checked on this core */
		free(jt);
		j->used = false;
		counters.rejected++;
		return JOB_EBUSY;
	}
	next_id++;
	counters.accepted++;
	if (id)
		*id = j->info.id;
	return JOB_OK;
}

static void fill_live(const struct job *j, struct job_info *info)
{
	*info = j->info;
	if (__atomic_load_n(&j->cancel, __ATOMIC_RELAXED))
		info->state = JOB_CANCELLED;    /* its tasks are draining */
	else if (__atomic_load_n(&j->started, __ATOMIC_RELAXED))
		info->state = JOB_RUNNING;
	info->elapsed_ns = time_ns() - j->info.submitted_ns;
}

static void log_job(const struct job_info *info)
{
	char buf[24 * MAX_CPUS];
	int n = 0;
	for (int i = 0; i < ncpus && n < (int)sizeof(buf) - 24; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s%lu", i ? "," : "",
			      (unsigned long)cpus[i].tasks_done);
	kprintf("jobs: job %lu %s result=%lu elapsed_us=%lu tasks_done=[%s]\n",
		(unsigned long)info->id, job_state_name(info->state), (unsigned long)info->result,
		(unsigned long)(info->elapsed_ns / 1000), buf);
}

void jobs_poll(void)
{
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++) {
		struct job *j = &inflight[i];
		if (!j->used || !__atomic_load_n(&j->complete, __ATOMIC_ACQUIRE))
			continue;
		struct job_info info = j->info;
		info.elapsed_ns = j->end_ns - j->info.submitted_ns;
		if (j->cancel) {
			info.state = JOB_CANCELLED;
			counters.cancelled++;
		} else {
			uint64_t sum = 0;
			for (int c = 0; c < ncpus; c++)
				sum += j->partial[c];
			info.state = JOB_DONE;
			info.has_result = true;
			info.result = sum;
			counters.done++;
		}
		history[hist_head] = info;
		hist_head = (hist_head + 1) % JOBS_HISTORY;
		if (hist_count < JOBS_HISTORY)
			hist_count++;
		free(j->t);
		j->used = false;
		if (log_jobs)
			log_job(&info);
		if (j->done)
			j->done(&info, j->ctx);
	}
}

int jobs_cancel(uint64_t id, struct job_info *info)
{
	jobs_poll();    /* a job whose last task just finished is done, not cancellable */
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++) {
		struct job *j = &inflight[i];
		if (j->used && j->info.id == id) {
			int already = __atomic_exchange_n(&j->cancel, 1, __ATOMIC_RELAXED);
			fill_live(j, info);
			return already ? 1 : 0;
		}
	}
	return jobs_get(id, info) ? 1 : -1;
}

bool jobs_get(uint64_t id, struct job_info *info)
{
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++)
		if (inflight[i].used && inflight[i].info.id == id) {
			fill_live(&inflight[i], info);
			return true;
		}
	for (uint32_t k = 0; k < hist_count; k++) {
		const struct job_info *h = &history[(hist_head + JOBS_HISTORY - 1 - k) % JOBS_HISTORY];
		if (h->id == id) {
			*info = *h;
			return true;
		}
	}
	return false;
}

void jobs_count_bad(void)
{
	counters.bad++;
}

void jobs_counters(struct job_counters *c)
{
	*c = counters;
	c->running = 0;
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++)
		if (inflight[i].used)
			c->running++;
}

void jobs_list(int max, void (*fn)(const struct job_info *info, void *arg), void *arg)
{
	/* Jobs in flight and finished ones, merged by id, newest first: the
	 * history is in finishing order, which is not submission order. */
	static struct job_info all[JOBS_MAX_INFLIGHT + JOBS_HISTORY];
	int n = 0;
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++)
		if (inflight[i].used)
			fill_live(&inflight[i], &all[n++]);
	for (uint32_t k = 0; k < hist_count; k++)
		all[n++] = history[(hist_head + JOBS_HISTORY - 1 - k) % JOBS_HISTORY];
	for (int i = 1; i < n; i++)             /* insertion sort, id descending */
		for (int k = i; k > 0 && all[k].id > all[k - 1].id; k--) {
			struct job_info t = all[k];
			all[k] = all[k - 1];
			all[k - 1] = t;
		}
	for (int i = 0; i < n && i < max; i++)
		fn(&all[i], arg);
}
