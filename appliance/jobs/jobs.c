/* jobs.c - jobs on the task queue. A job's tasks each count primes (the
 * whole limit in repeat mode, one equal-work range in split mode), add
 * their count to partial[core index] (a slot only that core writes) and
 * decrement tasks_left with a LOCK XADD; the one that reaches zero stamps
 * the end time, marks the job complete and kicks the BSP, which sums the
 * slots in jobs_poll and answers. */
#include "jobs.h"

#include <stdlib.h>
#include <string.h>

#include "primes.h"

struct job_task {
	struct task task;       /* first: the queue hands back struct task * */
	struct job *job;
	uint64_t lo, hi;        /* this task's range of candidates */
};

#define JOB_F_CANCEL   1
#define JOB_F_COMPLETE 2

struct job {
	struct job_info info;   /* written by the BSP only */
	bool used;              /* slot taken (BSP only) */
	volatile int started;   /* a task began: QUEUED -> RUNNING (atomic) */
	/* JOB_F_CANCEL (set by the BSP, read by the tasks) and JOB_F_COMPLETE
	 * (set by the last task, release), each set by a CAS that fails once
	 * the other is there: a cancel that comes after the last task is
	 * refused, so a job that did all its work is never called cancelled. */
	int flags;
	int tasks_left;         /* atomic */
	uint64_t end_ns;        /* written by the last task before complete */
	job_done_fn done;
	void *ctx;
	struct job_task *t;     /* tasks array, freed when the job ends */
	uint64_t *partial;      /* per-core result slots, env.ncores of them */
};

static struct jobs_env env;
static struct job inflight[JOBS_MAX_INFLIGHT];
static struct job_info history[JOBS_HISTORY];   /* ring, newest at hist_head - 1 */
static uint32_t hist_head, hist_count;
static uint64_t next_id;
static struct job_counters counters;

void jobs_init(const struct jobs_env *e)
{
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++)
		if (inflight[i].used) {
			free(inflight[i].t);
			free(inflight[i].partial);
		}
	memset(inflight, 0, sizeof(inflight));
	hist_head = hist_count = 0;
	next_id = 1;
	memset(&counters, 0, sizeof(counters));
	env = *e;
}

/* Every PRIMES_CHECK_WORK divisions: stop when cancelled, and let the
 * BSP serve the network (env.yield), so that a long task there does not
 * keep requests, including the DELETE that cancels it, waiting. */
static int keep_going(void *arg)
{
	struct job *j = arg;
	if (env.yield)
		env.yield();
	return !(__atomic_load_n(&j->flags, __ATOMIC_RELAXED) & JOB_F_CANCEL);
}

static void task_run(struct task *t)
{
	struct job_task *jt = (struct job_task *)t;
	struct job *j = jt->job;
	__atomic_store_n(&j->started, 1, __ATOMIC_RELAXED);
	uint64_t r = 0;
	if (!(__atomic_load_n(&j->flags, __ATOMIC_RELAXED) & JOB_F_CANCEL))
		r = count_primes_range(jt->lo, jt->hi, keep_going, j);
	j->partial[env.core_index()] += r;
	if (__atomic_sub_fetch(&j->tasks_left, 1, __ATOMIC_ACQ_REL) == 0) {
		j->end_ns = env.now_ns();
		__atomic_fetch_or(&j->flags, JOB_F_COMPLETE, __ATOMIC_RELEASE);
		env.kick();
	}
}

/* What one allocation may cost beyond its size: the allocator's header,
 * alignment and a tail too small to split off (kernel/heap.c). */
#define ALLOC_OVERHEAD 64

size_t jobs_mem_need(const struct job_spec *spec)
{
	size_t tasks = spec->tasks;
	size_t n = tasks * sizeof(struct job_task) + tasks * sizeof(struct task *) +
		   (size_t)env.ncores * sizeof(uint64_t) + 3 * ALLOC_OVERHEAD;
	if (spec->mode == JOB_SPLIT)
		n += (tasks + 1) * sizeof(uint64_t) + ALLOC_OVERHEAD;
	return n;
}

enum job_err jobs_submit(const struct job_spec *spec, uint64_t submitted_ns, job_done_fn done,
			 void *ctx, uint64_t *id)
{
	if (job_spec_check(spec) != JOB_SPEC_OK)
		return JOB_EINVAL;
	uint32_t tasks = spec->tasks;
	struct job *j = NULL;
	for (int i = 0; i < JOBS_MAX_INFLIGHT && !j; i++)
		if (!inflight[i].used)
			j = &inflight[i];
	if (!j || env.queue_room() < tasks ||
	    (env.mem_free && env.mem_free() < jobs_mem_need(spec) + JOBS_HEAP_RESERVE)) {
		counters.rejected++;
		return JOB_EBUSY;
	}
	struct job_task *jt = calloc(tasks, sizeof(*jt));
	struct task **tp = malloc(tasks * sizeof(*tp));
	uint64_t *partial = calloc((size_t)env.ncores, sizeof(*partial));
	uint64_t *bounds = spec->mode == JOB_SPLIT ? malloc((tasks + 1) * sizeof(*bounds)) : NULL;
	if (!jt || !tp || !partial || (spec->mode == JOB_SPLIT && !bounds)) {
		free(jt);
		free(tp);
		free(partial);
		free(bounds);
		counters.rejected++;
		return JOB_ENOMEM;
	}
	memset(j, 0, sizeof(*j));
	j->used = true;
	j->info.id = next_id;
	j->info.state = JOB_QUEUED;
	j->info.spec = *spec;
	j->info.submitted_ns = submitted_ns;
	j->tasks_left = (int)tasks;
	j->done = done;
	j->ctx = ctx;
	j->t = jt;
	j->partial = partial;
	if (bounds)
		primes_split(spec->limit, tasks, bounds);
	for (uint32_t i = 0; i < tasks; i++) {
		jt[i].task.run = task_run;
		jt[i].job = j;
		jt[i].lo = bounds ? bounds[i] : 0;
		jt[i].hi = bounds ? bounds[i + 1] : spec->limit;
		tp[i] = &jt[i].task;
	}
	free(bounds);
	bool ok = env.submit(tp, (int)tasks);
	free(tp);
	if (!ok) {              /* another core took the room meanwhile */
		free(jt);
		free(partial);
		j->used = false;
		counters.rejected++;
		return JOB_EBUSY;
	}
	next_id++;
	counters.accepted++;
	if (id)
		*id = j->info.id;
	if (env.on_change) {
		/* As submitted, whatever a core may have started meanwhile. */
		struct job_info info = j->info;
		info.elapsed_ns = env.now_ns() - info.submitted_ns;
		env.on_change(&info);
	}
	return JOB_OK;
}

/* The job as it stands: a job whose last task finished is done (or
 * cancelled) even before jobs_poll moved it to the history. */
static void fill_live(const struct job *j, struct job_info *info)
{
	*info = j->info;
	int flags = __atomic_load_n(&j->flags, __ATOMIC_ACQUIRE);
	bool cancelled = flags & JOB_F_CANCEL;
	if (flags & JOB_F_COMPLETE) {
		info->elapsed_ns = j->end_ns - j->info.submitted_ns;
		info->state = cancelled ? JOB_CANCELLED : JOB_DONE;
		if (!cancelled) {
			info->has_result = true;
			info->result = 0;
			for (int c = 0; c < env.ncores; c++)
				info->result += j->partial[c];
		}
		return;
	}
	if (cancelled)
		info->state = JOB_CANCELLED;    /* its tasks are draining */
	else if (__atomic_load_n(&j->started, __ATOMIC_RELAXED))
		info->state = JOB_RUNNING;
	info->elapsed_ns = env.now_ns() - j->info.submitted_ns;
}

void jobs_poll(void)
{
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++) {
		struct job *j = &inflight[i];
		if (!j->used)
			continue;
		int flags = __atomic_load_n(&j->flags, __ATOMIC_ACQUIRE);
		if (!(flags & JOB_F_COMPLETE)) {
			if (j->info.state == JOB_QUEUED && !(flags & JOB_F_CANCEL) &&
			    __atomic_load_n(&j->started, __ATOMIC_RELAXED)) {
				j->info.state = JOB_RUNNING;
				if (env.on_change) {
					/* Not fill_live: the last task may end meanwhile,
					 * and done is reported below, once. */
					struct job_info info = j->info;
					info.elapsed_ns = env.now_ns() - info.submitted_ns;
					env.on_change(&info);
				}
			}
			continue;
		}
		struct job_info info;
		fill_live(j, &info);
		bool was_cancelled = j->info.state == JOB_CANCELLED;
		if (info.state == JOB_DONE)
			counters.done++;
		else
			counters.cancelled++;
		history[hist_head] = info;
		hist_head = (hist_head + 1) % JOBS_HISTORY;
		if (hist_count < JOBS_HISTORY)
			hist_count++;
		job_done_fn done = j->done;
		void *ctx = j->ctx;
		free(j->t);
		free(j->partial);
		j->used = false;        /* the callback may submit into this slot */
		if (done)
			done(&info, ctx);
		if (env.on_change && !was_cancelled)
			env.on_change(&info);
		if (env.on_end)
			env.on_end(&info);
	}
}

int jobs_cancel(uint64_t id, struct job_info *info)
{
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++) {
		struct job *j = &inflight[i];
		if (!j->used || j->info.id != id)
			continue;
		int f = __atomic_load_n(&j->flags, __ATOMIC_ACQUIRE);
		while (!(f & (JOB_F_CANCEL | JOB_F_COMPLETE)) &&
		       !__atomic_compare_exchange_n(&j->flags, &f, f | JOB_F_CANCEL, false,
						    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			;       /* f was reloaded: try again unless it ended meanwhile */
		fill_live(j, info);
		if (f & (JOB_F_CANCEL | JOB_F_COMPLETE))
			return 1;
		j->info.state = JOB_CANCELLED;
		if (env.on_change)
			env.on_change(info);
		return 0;
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
