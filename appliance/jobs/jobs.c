/* jobs.c - jobs as chunks on the work table. A job's tasks each count
 * primes (the whole limit in repeat mode, one equal-work range in split
 * mode); a task's range is cut into chunks of at most primes_chunk_len
 * candidates, so a chunk does bounded work (primes.h). Any core runs any
 * chunk: it adds its count to partial[core index] (a slot only that core
 * writes). The core that ends the job's last chunk stamps the end time,
 * marks the job complete and kicks the BSP, which sums the slots in
 * jobs_poll and tells the job's waiters. */
#include "jobs.h"

#include <stdlib.h>
#include <string.h>

#include "primes.h"

struct job {
	struct job_info info;   /* written by the BSP only */
	bool used;              /* slot taken (BSP only) */
	int slot;               /* in the work table */
	volatile int started;   /* a chunk ran: QUEUED -> RUNNING (atomic) */
	/* Set (release) by finished, after all_ran and end_ns: the job's
	 * chunks have all ended or been withdrawn. */
	int complete;
	bool all_ran;           /* no chunk withdrawn: the result is whole */
	uint64_t end_ns;
	struct job_waiter *waiters;     /* BSP only */
	/* Read by the chunks: constant while the job is in flight. */
	uint64_t limit;         /* repeat: every task's range is [0, limit) */
	uint64_t len;           /* repeat: candidates per chunk */
	uint64_t *bounds;       /* split: task t is [bounds[t], bounds[t + 1]) */
	uint64_t *lens;         /* split: task t's candidates per chunk */
	/* Per-core result slots, platform.ncores of them; the head of the
	 * one allocation behind all these arrays. */
	uint64_t *partial;
};

static struct jobs_platform plat;
static struct jobs_observer *observers;
static struct job inflight[JOBS_MAX_INFLIGHT];
static struct job_info history[JOBS_HISTORY];   /* ring, newest at hist_head - 1 */
static uint32_t hist_head, hist_count;
static uint64_t next_id;
static struct job_counters counters;
/* Moves when a job's first chunk starts or its last ends, on any core:
 * jobs_poll has something to look at only then (it runs between any two
 * chunks of the BSP, so its scan of the table is not made for nothing). */
static uint64_t events, events_seen;
/* The speed of one core on the workload, for max_job_s: cal_ns to do
 * cal_work divisions (as primes_work estimates them). 0: not measured. */
static uint64_t cal_work, cal_ns;
static uint64_t cap_us;

void jobs_init(const struct jobs_platform *p)
{
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++)
		if (inflight[i].used)
			free(inflight[i].partial);
	memset(inflight, 0, sizeof(inflight));
	hist_head = hist_count = 0;
	next_id = 1;
	memset(&counters, 0, sizeof(counters));
	observers = NULL;
	cal_work = cal_ns = cap_us = 0;
	__atomic_store_n(&events, 0, __ATOMIC_RELAXED);
	events_seen = 0;
	plat = *p;
}

/* Candidates of the speed measurement: about 6 x 10^6 divisions. */
#define CAL_LIMIT 300000

void jobs_set_cap(uint64_t max_s)
{
	cap_us = max_s * 1000000;
	if (!max_s || cal_ns)
		return;
	/* Twice, the faster: the first run may pay for warming up (TCG
	 * translates the loop then). */
	for (int i = 0; i < 2; i++) {
		uint64_t t0 = plat.now_ns();
		count_primes_below(CAL_LIMIT);
		uint64_t dt = plat.now_ns() - t0;
		if (!cal_ns || dt < cal_ns)
			cal_ns = dt ? dt : 1;
	}
	cal_work = primes_work(CAL_LIMIT);
}

uint64_t jobs_cap_us(void)
{
	return cap_us;
}

uint64_t jobs_estimate_us(const struct job_spec *spec)
{
	if (!cal_work)
		return 0;
	uint64_t w = primes_work(spec->limit);  /* one task: <= 1.7e16, no overflow below */
	uint64_t task_us = (w / cal_work) * cal_ns / 1000 + (w % cal_work) * cal_ns / cal_work / 1000;
	return spec->mode == JOB_SPLIT ? task_us : task_us * spec->tasks;
}

void jobs_observe(struct jobs_observer *o)
{
	struct jobs_observer **pp = &observers;
	while (*pp)
		pp = &(*pp)->next;
	o->next = NULL;
	*pp = o;
}

static void tell_observers(const struct job_info *info)
{
	for (struct jobs_observer *o = observers; o; o = o->next)
		o->changed(info);
}

/* Chunk c of task t, on any core: the plain loop of primes.c, nothing
 * else; the chunk's size is its bound. */
static void chunk_run(void *owner, uint32_t t, uint64_t c)
{
	struct job *j = owner;
	uint64_t lo, hi, len;
	if (j->bounds) {
		len = j->lens[t];
		lo = j->bounds[t] + c * len;
		hi = j->bounds[t + 1];
	} else {
		len = j->len;
		lo = c * len;
		hi = j->limit;
	}
	if (hi - lo > len)
		hi = lo + len;
	if (!__atomic_load_n(&j->started, __ATOMIC_RELAXED) &&
	    !__atomic_exchange_n(&j->started, 1, __ATOMIC_RELAXED))
		__atomic_fetch_add(&events, 1, __ATOMIC_RELEASE);      /* jobs_poll: it runs */
	j->partial[plat.core_index()] += count_primes_range(lo, hi);
}

/* The job's last chunk ended (or the rest was withdrawn), on that core. */
static void job_finished(void *owner, bool all_ran)
{
	struct job *j = owner;
	j->all_ran = all_ran;
	j->end_ns = plat.now_ns();
	__atomic_store_n(&j->complete, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&events, 1, __ATOMIC_RELEASE);
	plat.kick();
}

/* Chunks of [lo, hi) at len candidates each: at least one. */
static uint64_t chunks_of(uint64_t lo, uint64_t hi, uint64_t len)
{
	uint64_t n = (hi - lo) / len + ((hi - lo) % len != 0);
	return n ? n : 1;
}

/* What one allocation may cost beyond its size: the allocator's header,
 * alignment and a tail too small to split off (kernel/heap.c). */
#define ALLOC_OVERHEAD 64

/* The arrays of a job, in its one allocation: partial[ncores], then per
 * task task_left and task_next, then in split mode bounds[tasks + 1],
 * lens[tasks] and chunk_start[tasks + 1]. */
static size_t job_words(const struct job_spec *spec)
{
	size_t tasks = spec->tasks;
	size_t n = (size_t)plat.ncores + 2 * tasks;
	if (spec->mode == JOB_SPLIT)
		n += 3 * tasks + 2;
	return n;
}

size_t jobs_mem_need(const struct job_spec *spec)
{
	return job_words(spec) * sizeof(uint64_t) + ALLOC_OVERHEAD;
}

enum job_err jobs_submit(const struct job_spec *spec, uint64_t submitted_ns, struct job_waiter *w,
			 uint64_t *id)
{
	if (job_spec_check(spec) != JOB_SPEC_OK)
		return JOB_EINVAL;
	if (cap_us && jobs_estimate_us(spec) > cap_us) {
		counters.too_big++;
		return JOB_ETOOBIG;
	}
	uint32_t tasks = spec->tasks;
	struct job *j = NULL;
	for (int i = 0; i < JOBS_MAX_INFLIGHT && !j; i++)
		if (!inflight[i].used)
			j = &inflight[i];
	if (!j || (plat.mem_free && plat.mem_free() < jobs_mem_need(spec) + JOBS_HEAP_RESERVE)) {
		counters.rejected++;
		return JOB_EBUSY;
	}
	uint64_t *mem = calloc(job_words(spec), sizeof(uint64_t));
	if (!mem) {
		counters.rejected++;
		return JOB_ENOMEM;
	}
	memset(j, 0, sizeof(*j));
	j->partial = mem;
	uint64_t *task_left = j->partial + plat.ncores;
	uint64_t *task_next = task_left + tasks;
	struct work work = {
		.tasks = tasks,
		.task_left = task_left,
		.task_next = task_next,
		.run = chunk_run,
		.finished = job_finished,
		.owner = j,
	};
	j->limit = spec->limit;
	if (spec->mode == JOB_SPLIT) {
		j->bounds = task_next + tasks;
		j->lens = j->bounds + tasks + 1;
		uint64_t *chunk_start = j->lens + tasks;
		primes_split(spec->limit, tasks, j->bounds);
		chunk_start[0] = 0;
		for (uint32_t t = 0; t < tasks; t++) {
			j->lens[t] = primes_chunk_len(j->bounds[t + 1]);
			chunk_start[t + 1] = chunk_start[t] +
					     chunks_of(j->bounds[t], j->bounds[t + 1], j->lens[t]);
		}
		work.chunk_start = chunk_start;
	} else {
		j->len = primes_chunk_len(spec->limit);
		work.per_task = chunks_of(0, spec->limit, j->len);
	}
	j->used = true;
	j->info.id = next_id;
	j->info.state = JOB_QUEUED;
	j->info.spec = *spec;
	j->info.submitted_ns = submitted_ns;
	j->slot = plat.add(&work);
	if (j->slot < 0) {      /* another job holds a slot (the boot self-test's, a test's) */
		free(mem);
		j->used = false;
		counters.rejected++;
		return JOB_EBUSY;
	}
	if (w) {
		w->job = j->info.id;
		w->next = NULL;
		j->waiters = w;
	}
	next_id++;
	counters.accepted++;
	if (id)
		*id = j->info.id;
	/* As submitted, whatever a core may have started meanwhile. */
	struct job_info info = j->info;
	info.elapsed_ns = plat.now_ns() - info.submitted_ns;
	tell_observers(&info);
	return JOB_OK;
}

static struct job *find_inflight(uint64_t id)
{
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++)
		if (inflight[i].used && inflight[i].info.id == id)
			return &inflight[i];
	return NULL;
}

/* The job as it stands: a job whose last chunk ended is done (or
 * cancelled) even before jobs_poll moved it to the history. */
static void fill_live(const struct job *j, struct job_info *info)
{
	*info = j->info;
	if (__atomic_load_n(&j->complete, __ATOMIC_ACQUIRE)) {
		info->elapsed_ns = j->end_ns - j->info.submitted_ns;
		info->state = j->all_ran ? JOB_DONE : JOB_CANCELLED;
		if (j->all_ran) {
			info->has_result = true;
			info->result = 0;
			for (int c = 0; c < plat.ncores; c++)
				info->result += j->partial[c];
		}
		return;
	}
	if (j->info.state == JOB_QUEUED && __atomic_load_n(&j->started, __ATOMIC_RELAXED))
		info->state = JOB_RUNNING;
	info->elapsed_ns = plat.now_ns() - j->info.submitted_ns;
}

bool jobs_wait(uint64_t id, struct job_waiter *w)
{
	struct job *j = find_inflight(id);
	if (!j)
		return false;
	w->job = id;
	w->next = j->waiters;
	j->waiters = w;
	return true;
}

/* The waiters of the job jobs_poll is finishing that it has not told
 * yet: a waiter's done may let go of another of them (jobs_unwait). */
static struct job_waiter *telling;

static void unlink_waiter(struct job_waiter **pp, struct job_waiter *w)
{
	for (; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

void jobs_unwait(struct job_waiter *w)
{
	if (w->job) {
		struct job *j = find_inflight(w->job);
		unlink_waiter(j ? &j->waiters : &telling, w);
	}
	w->job = 0;
	w->next = NULL;
}

void jobs_poll(void)
{
	uint64_t ev = __atomic_load_n(&events, __ATOMIC_ACQUIRE);
	if (ev == events_seen)
		return;
	events_seen = ev;       /* what moves it during the scan is seen next time */
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++) {
		struct job *j = &inflight[i];
		if (!j->used)
			continue;
		if (!__atomic_load_n(&j->complete, __ATOMIC_ACQUIRE)) {
			if (j->info.state == JOB_QUEUED && __atomic_load_n(&j->started, __ATOMIC_RELAXED)) {
				j->info.state = JOB_RUNNING;
				/* Not fill_live: the last chunk may end meanwhile,
				 * and done is reported below, once. */
				struct job_info info = j->info;
				info.elapsed_ns = plat.now_ns() - info.submitted_ns;
				tell_observers(&info);
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
		telling = j->waiters;
		free(j->partial);
		j->used = false;        /* a waiter may submit into this slot */
		while (telling) {
			struct job_waiter *w = telling;
			telling = w->next;
			w->job = 0;
			w->next = NULL;
			w->done(w, &info);
		}
		if (!was_cancelled)
			tell_observers(&info);
	}
}

enum job_cancel jobs_cancel(uint64_t id, struct job_info *info)
{
	struct job *j = find_inflight(id);
	if (!j)
		return jobs_get(id, info) ? JOB_CANCEL_ENDED : JOB_CANCEL_UNKNOWN;
	if (__atomic_load_n(&j->complete, __ATOMIC_ACQUIRE) || j->info.state == JOB_CANCELLED) {
		fill_live(j, info);
		return JOB_CANCEL_ENDED;
	}
	if (!plat.withdraw(j->slot, j)) {
		/* Every chunk was claimed: they all count, so it ends done. What
		 * info says decides, read once (the last chunk may end now). */
		fill_live(j, info);
		return info->state == JOB_DONE ? JOB_CANCEL_ENDED : JOB_CANCEL_FINISHING;
	}
	j->info.state = JOB_CANCELLED;
	fill_live(j, info);
	tell_observers(info);
	return JOB_CANCEL_DONE;
}

bool jobs_get(uint64_t id, struct job_info *info)
{
	const struct job *j = find_inflight(id);
	if (j) {
		fill_live(j, info);
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
	c->tasks_capacity = (uint64_t)JOBS_MAX_INFLIGHT * JOBS_TASKS_MAX;
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
