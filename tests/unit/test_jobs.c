/* test_jobs.c - the job engine (appliance/jobs/jobs.c) on a fake platform
 * around the real work table (smp/worktab.c): the test claims and runs
 * the chunks itself, on a core index it chooses, moving a fake clock, so
 * the per-core result slots and the claims are the real ones. Covers the
 * spec checks, results against count_primes_below (repeat, and split over
 * 1..1024 tasks), the states and elapsed times, the kick, waiters
 * (several per job, unwait, one that submits), the busy, invalid,
 * out-of-memory and heap-rule refusals, cancelling queued, running,
 * finishing and finished jobs under both policies, the history and the
 * listing, the counters, the state changes observers see, re-init, and
 * a DELETE racing a job's last chunk on two threads.
 *
 * Both engine files are included, not linked: worktab.c for its race
 * window, jobs.c to count its allocations (one per job, none per chunk,
 * none for a refused job) and to make one fail (JOB_ENOMEM). */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static __thread bool racer;             /* this thread is the racing core */
static void race_window(void);
#define WORKTAB_RACE_WINDOW() race_window()
#include "../../smp/worktab.c"

static int job_allocs, job_frees;       /* jobs.c's calloc and free calls */
static size_t alloc_size;               /* bytes of its last calloc */
static bool calloc_fails;

static void *jobs_calloc(size_t n, size_t size)
{
	if (calloc_fails)
		return NULL;
	job_allocs++;
	alloc_size = n * size;
	return calloc(n, size);
}

static void jobs_free(void *p)
{
	if (p)
		job_frees++;
	free(p);
}

#define calloc jobs_calloc
#define free   jobs_free
#include "../../appliance/jobs/jobs.c"
#undef calloc
#undef free

#include "check.h"

/* Known engine bugs, reported to the lead (issue 16's review). Each
 * switch is 1 while the engine has the bug: its checks do not fail, and
 * where the test can force the bug it checks that the bug still shows,
 * so the fix fails the test until its switch is set to 0, which makes
 * every check of it strict.
 *
 * jobs_cancel, where withdraw took nothing (jobs.c: fill_live, then
 * `return complete ? ENDED : FINISHING`), reads `complete` twice: a job
 * whose last chunk completes between the two reads is answered ENDED with
 * the info of a running job, without its result (a DELETE answered 409
 * "running"). Forced by letting the racer go from inside the DELETE. */
#define KNOWN_BUG_ENDED_STALE 0
/* worktab_withdraw under sched=task (smp/worktab.c, the loop over claimed
 * tasks) swaps a held task's task_next to its end, then subtracts the
 * chunks it took from task_left and ignores the result; a holder that
 * finds task_next at the end between the two drops its hold first, so
 * the withdraw's subtraction reaches zero and nobody counts the task's
 * end in tasks_left: the job never finishes (in flight for good, its
 * waiters never told, its slots lost). A race that loses the end is
 * counted and the engine and table set up afresh. The window is two
 * atomics wide: no race here can force it (the report has a repro). */
#define KNOWN_BUG_TASK_LOST_END 0
/* jobs_poll frees the job's slot and detaches its waiters before it
 * tells them, so jobs_unwait of a waiter not yet told finds no job and
 * only clears that waiter's job and next: the waiter is still told (the
 * loop saved it as the next), and every waiter after it never is. The
 * product does not do it today (each owner unwaits only its own). */
#define KNOWN_BUG_UNWAIT_IN_DELIVERY 0

#define NCORES 4

/* ---- The fake platform. ---- */

static struct worktab wt;
static int hazards[NCORES];
/* What a core holds: a claimed chunk not yet run (claim_on), or under
 * task the next chunk of its task (worktab_run said WORKTAB_MORE). */
static struct fake_core {
	int cursor;
	bool holding;
	struct claim cl;
	long ran;               /* chunks it ran */
} cores[NCORES];
static uint64_t now = 1000000;          /* the fake clock, ns */
static __thread int core;               /* what core_index says on this thread */
static int kicks;                       /* atomic: the racer kicks too */
static int adds, withdraws;
static bool add_refuses;                /* the table says full (it never does first) */
static size_t mem_free_now;
static int mem_free_calls;
static long chunks_ran;

enum race_point {
	RP_NONE,
	RP_STARTED,     /* the racer runs, before its claim */
	RP_CLAIMING,    /* its hazard is up, the claim's XADD not yet done */
	RP_HELD,        /* task: it holds the task, its first chunk not yet claimed */
	RP_COUNTED,     /* inside its chunk: the count goes to its slot (core_index) */
	RP_LAST_DEC,    /* the job's last chunk counted down, finish not yet called */
	RP_CLOCK,       /* in the engine's finished: reading the end time, complete not set */
	RP_RETURNED,    /* worktab_run returned: the job is complete */
	RP_NO_CLAIM,    /* the claim found nothing */
};
static void racer_at(enum race_point p);
static int rp;                          /* atomic: where the racer is */

static void bsp_clock_hook(void);

static uint64_t fake_now(void)
{
	if (racer && __atomic_load_n(&rp, __ATOMIC_SEQ_CST) >= RP_COUNTED)
		racer_at(RP_CLOCK);
	if (!racer)
		bsp_clock_hook();
	return __atomic_load_n(&now, __ATOMIC_SEQ_CST);
}

static int fake_add(const struct work *w)
{
	adds++;
	return add_refuses ? -1 : worktab_add(&wt, w);
}

static uint64_t fake_withdraw(int slot, const void *owner)
{
	withdraws++;
	return worktab_withdraw(&wt, slot, owner);
}

static int fake_core_index(void)
{
	if (racer)
		racer_at(RP_COUNTED);
	return core;
}

static void fake_kick(void)
{
	__atomic_fetch_add(&kicks, 1, __ATOMIC_SEQ_CST);
}

static size_t fake_mem_free(void)
{
	mem_free_calls++;
	return mem_free_now;
}

static const struct jobs_platform fake_plat = {
	.now_ns = fake_now,
	.add = fake_add,
	.withdraw = fake_withdraw,
	.core_index = fake_core_index,
	.ncores = NCORES,
	.kick = fake_kick,
};

/* Claims a chunk on core c and holds it, not run: false when none. */
static bool claim_on(int c)
{
	struct fake_core *f = &cores[c];
	if (f->holding)
		return true;
	f->holding = worktab_claim(&wt, c, &f->cursor, &f->cl);
	return f->holding;
}

/* Runs one chunk on core c, the one it holds or a new claim, after moving
 * the clock by step: false when it found none. */
static bool run_one(int c, uint64_t step)
{
	struct fake_core *f = &cores[c];
	if (!claim_on(c))
		return false;
	now += step;
	core = c;
	f->holding = worktab_run(&wt, &f->cl) & WORKTAB_MORE;
	f->ran++;
	chunks_ran++;
	return true;
}

static bool any_holding(void)
{
	for (int c = 0; c < NCORES; c++)
		if (cores[c].holding)
			return true;
	return false;
}

/* Runs every chunk there is, the cores in turn: how many. */
static long run_all(uint64_t step)
{
	long n = 0;
	for (bool ran = true; ran;) {
		ran = false;
		for (int c = 0; c < NCORES; c++)
			if (run_one(c, step)) {
				ran = true;
				n++;
			}
	}
	return n;
}

/* Runs every chunk on cores picked by seed. */
static void run_random(unsigned *seed)
{
	while (worktab_has_work(&wt) || any_holding())
		run_one(rand_r(seed) % NCORES, 1);
}

/* An empty table may change its policy (the engine never looks). */
static void table_policy(enum worktab_policy p)
{
	CHECK(wt.used == 0 && !any_holding());
	worktab_init(&wt, hazards, NCORES, p);
	for (int c = 0; c < NCORES; c++)
		cores[c].cursor = 0;
}

/* ---- Waiters. ---- */

static bool in_poll;
static int waiter_calls;                /* all waiters' calls */

static void poll_jobs(void)
{
	in_poll = true;
	jobs_poll();
	in_poll = false;
}

static void drain(void)
{
	run_all(10);
	poll_jobs();
}

struct rec {
	struct job_waiter w;    /* first: the engine hands it back */
	int calls;
	int order;              /* waiter_calls at its last call */
	struct job_info info;
};

/* Called from jobs_poll only, let go of by the engine. */
static void rec_done(struct job_waiter *w, const struct job_info *info)
{
	struct rec *r = (struct rec *)w;
	CHECK(in_poll);
	CHECK(w->job == 0 && w->next == NULL);
	r->calls++;
	r->order = ++waiter_calls;
	r->info = *info;
}

static struct job_waiter *rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->w.done = rec_done;
	return &r->w;
}

/* The final info a waiter got is what jobs_get says afterwards. */
static bool same_info(const struct job_info *a, const struct job_info *b)
{
	return a->id == b->id && a->state == b->state && a->spec.limit == b->spec.limit &&
	       a->spec.tasks == b->spec.tasks && a->spec.mode == b->spec.mode &&
	       a->has_result == b->has_result && a->result == b->result &&
	       a->submitted_ns == b->submitted_ns && a->elapsed_ns == b->elapsed_ns;
}

/* ---- Observers: every state change, and each job's sequence checked
 * as it comes (queued first; running at most once, before the end; one
 * end, cancelled or done; a result exactly when done). ---- */

#define CHANGES_MAX 1024
#define IDS_TRACKED 4096

struct change {
	struct job_info info;
	int waiter_calls;       /* waiters called before this report */
};

static struct change changes[CHANGES_MAX];
static int nchanges;
static signed char reported[IDS_TRACKED];       /* per id: last state + 1, 0 none */
static int bad_reports;

static void log_changed(const struct job_info *info)
{
	if (nchanges < CHANGES_MAX)
		changes[nchanges] = (struct change){ *info, waiter_calls };
	nchanges++;
	if (info->id >= IDS_TRACKED)
		return;
	int last = reported[info->id] - 1;
	bool ok = false;
	switch (info->state) {
	case JOB_QUEUED:
		ok = last == -1 && !info->has_result;
		break;
	case JOB_RUNNING:
		ok = last == JOB_QUEUED && !info->has_result;
		break;
	case JOB_CANCELLED:
		ok = (last == JOB_QUEUED || last == JOB_RUNNING) && !info->has_result;
		break;
	case JOB_DONE:
		ok = (last == JOB_QUEUED || last == JOB_RUNNING) && info->has_result;
		break;
	}
	if (!ok) {
		bad_reports++;
		fprintf(stderr, "test_jobs: job %lu reported %s after %s\n", (unsigned long)info->id,
			job_state_name(info->state), last < 0 ? "nothing" : job_state_name(last));
	}
	reported[info->id] = (signed char)(info->state + 1);
}

static struct jobs_observer log_observer = { .changed = log_changed };

/* The states reported for job id, in order: whether exactly these. */
static bool seq_is(uint64_t id, int n, const enum job_state *want)
{
	int k = 0;
	for (int i = 0; i < nchanges && i < CHANGES_MAX; i++) {
		if (changes[i].info.id != id)
			continue;
		if (k >= n || changes[i].info.state != want[k])
			return false;
		k++;
	}
	return k == n;
}

#define SEQ(id, ...) \
	seq_is(id, (int)(sizeof((enum job_state[]){ __VA_ARGS__ }) / sizeof(enum job_state)), \
	       (enum job_state[]){ __VA_ARGS__ })

/* The last report of job id; NULL if none. */
static const struct change *last_change(uint64_t id)
{
	for (int i = (nchanges < CHANGES_MAX ? nchanges : CHANGES_MAX) - 1; i >= 0; i--)
		if (changes[i].info.id == id)
			return &changes[i];
	return NULL;
}

/* ---- Setup. ---- */

static struct job_counters ctrs(void)
{
	struct job_counters c;
	jobs_counters(&c);
	return c;
}

static void setup_with(const struct jobs_platform *p, enum worktab_policy policy, bool observed)
{
	jobs_init(p);
	worktab_init(&wt, hazards, NCORES, policy);
	memset(cores, 0, sizeof(cores));
	kicks = adds = withdraws = 0;
	add_refuses = calloc_fails = false;
	nchanges = 0;
	memset(reported, 0, sizeof(reported));
	if (observed)
		jobs_observe(&log_observer);
}

static void setup(enum worktab_policy policy)
{
	setup_with(&fake_plat, policy, true);
}

/* Nothing in flight, nothing claimed, every job's memory freed, every
 * report in order. */
static void check_idle(void)
{
	struct job_counters c = ctrs();
	CHECK(c.running == 0);
	CHECK(wt.used == 0 && wt.active == 0 && !any_holding());
	CHECK(job_allocs == job_frees);
	CHECK(bad_reports == 0);
}

/* ---- The tests. ---- */

static void test_spec_check(void)
{
	struct job_spec s = job_spec_default();
	CHECK(s.limit == 0 && s.tasks == 1 && s.mode == JOB_REPEAT);
	CHECK(job_spec_check(&s) == JOB_SPEC_OK);
	s.limit = JOBS_LIMIT_MAX;
	CHECK(job_spec_check(&s) == JOB_SPEC_OK);
	s.limit = JOBS_LIMIT_MAX + 1;
	CHECK(job_spec_check(&s) == JOB_SPEC_LIMIT_RANGE);
	s = job_spec_default();
	s.tasks = 0;
	CHECK(job_spec_check(&s) == JOB_SPEC_TASKS_ZERO);
	s.tasks = JOBS_TASKS_MAX;
	CHECK(job_spec_check(&s) == JOB_SPEC_OK);
	s.tasks = JOBS_TASKS_MAX + 1;
	CHECK(job_spec_check(&s) == JOB_SPEC_TASKS_RANGE);
	s = job_spec_default();
	s.mode = (enum job_mode)2;
	CHECK(job_spec_check(&s) == JOB_SPEC_MODE);
	s.mode = JOB_SPLIT;
	CHECK(job_spec_check(&s) == JOB_SPEC_OK);
	CHECK(!strcmp(job_state_name(JOB_QUEUED), "queued"));
	CHECK(!strcmp(job_state_name(JOB_RUNNING), "running"));
	CHECK(!strcmp(job_state_name(JOB_DONE), "done"));
	CHECK(!strcmp(job_state_name(JOB_CANCELLED), "cancelled"));
	CHECK(!strcmp(job_mode_name(JOB_SPLIT), "split") && !strcmp(job_mode_name(JOB_REPEAT), "repeat"));
}

/* Invalid specs: refused before anything is allocated or added, no id
 * used, the waiter not held, nothing reported; a protocol error, which
 * the endpoints count, not the engine. */
static void test_einval(void)
{
	setup(WORKTAB_SHARE);
	struct job_spec bad[] = {
		{ .limit = JOBS_LIMIT_MAX + 1, .tasks = 1, .mode = JOB_REPEAT },
		{ .limit = 100, .tasks = 0, .mode = JOB_REPEAT },
		{ .limit = 100, .tasks = JOBS_TASKS_MAX + 1, .mode = JOB_SPLIT },
		{ .limit = 100, .tasks = 1, .mode = (enum job_mode)7 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rec r;
		uint64_t id = 12345;
		int a0 = job_allocs;
		CHECK(jobs_submit(&bad[i], now, rec_init(&r), &id) == JOB_EINVAL);
		CHECK(id == 12345 && adds == 0 && job_allocs == a0);
		CHECK(r.w.job == 0);
		poll_jobs();
		CHECK(r.calls == 0);
	}
	struct job_counters c = ctrs();
	CHECK(c.accepted == 0 && c.rejected == 0 && c.running == 0);
	CHECK(nchanges == 0);
	uint64_t id = 0;
	struct job_spec ok = { .limit = 100, .tasks = 1, .mode = JOB_REPEAT };
	CHECK(jobs_submit(&ok, now, NULL, &id) == JOB_OK && id == 1);       /* no id used */
	drain();
	check_idle();
}

/* Chunks of one task of [lo, hi): what jobs.c promises (chunks of at most
 * primes_chunk_len candidates, at least one). */
static uint64_t chunks_for(uint64_t lo, uint64_t hi)
{
	uint64_t len = primes_chunk_len(hi);
	uint64_t n = (hi - lo + len - 1) / len;
	return n ? n : 1;
}

/* Repeat mode 100000 x 3 (19 chunks a task): the states as the chunks
 * run, elapsed times from the fake clock, the kick at the last chunk
 * only, the waiter called from jobs_poll only, once, with the final
 * info; the observer's done after the waiter. */
static void test_repeat_states(void)
{
	setup(WORKTAB_SHARE);
	struct rec r;
	struct job_spec s = { .limit = 100000, .tasks = 3, .mode = JOB_REPEAT };
	uint64_t id = 0, t0 = now;
	int a0 = job_allocs;
	CHECK(jobs_submit(&s, t0, rec_init(&r), &id) == JOB_OK);
	CHECK(id == 1 && adds == 1 && job_allocs == a0 + 1);
	CHECK(r.w.job == id);
	struct job_counters c = ctrs();
	CHECK(c.accepted == 1 && c.running == 1 && c.done == 0);
	CHECK(c.tasks_capacity == (uint64_t)JOBS_MAX_INFLIGHT * JOBS_TASKS_MAX);
	CHECK(SEQ(id, JOB_QUEUED));
	CHECK(changes[0].info.submitted_ns == t0 && changes[0].info.spec.tasks == 3);

	struct job_info info;
	now += 500;
	CHECK(jobs_get(id, &info));
	CHECK(info.id == id && info.state == JOB_QUEUED && !info.has_result);
	CHECK(info.submitted_ns == t0 && info.elapsed_ns == 500);
	CHECK(info.spec.limit == 100000 && info.spec.tasks == 3 && info.spec.mode == JOB_REPEAT);
	poll_jobs();                    /* queued: nothing to report */
	CHECK(nchanges == 1);

	uint64_t nchunks = 3 * chunks_for(0, s.limit);
	CHECK(nchunks >= 3 * 10);       /* the test needs tasks of many chunks */
	long ran0 = chunks_ran;
	CHECK(run_one(2, 1000));
	CHECK(kicks == 0);
	CHECK(jobs_get(id, &info) && info.state == JOB_RUNNING && !info.has_result);
	CHECK(info.elapsed_ns == now - t0);
	CHECK(nchanges == 1);           /* the BSP sees it at jobs_poll */
	poll_jobs();
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING));
	CHECK(changes[1].info.elapsed_ns == now - t0 && !changes[1].info.has_result);
	CHECK(r.calls == 0);
	/* The rest on every core in turn; the kick comes with the last. */
	uint64_t t_end = 0;
	int early_kicks = 0;
	for (uint64_t k = 1; k < nchunks; k++) {
		early_kicks += kicks;
		CHECK(run_one((int)(k % NCORES), 1000));
		if (k % 7 == 0 && k + 1 < nchunks)
			poll_jobs();
	}
	t_end = now;
	CHECK(early_kicks == 0);
	CHECK(kicks == 1);
	CHECK(chunks_ran - ran0 == (long)nchunks);
	CHECK(!run_one(0, 1) && wt.used == 0);  /* its slot is free before the poll */
	CHECK(r.calls == 0);
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING));
	now += 7777;                    /* the poll comes later */
	/* Finished, not yet polled: done already, with its result. */
	CHECK(jobs_get(id, &info));
	CHECK(info.state == JOB_DONE && info.has_result && info.result == 3 * 9592);
	CHECK(info.elapsed_ns == t_end - t0);

	poll_jobs();
	CHECK(r.calls == 1);
	CHECK(r.info.id == id && r.info.state == JOB_DONE);
	CHECK(r.info.has_result && r.info.result == 3 * 9592);
	CHECK(r.info.elapsed_ns == t_end - t0 && r.info.submitted_ns == t0);
	CHECK(r.info.spec.limit == 100000 && r.info.spec.tasks == 3);
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING, JOB_DONE));
	const struct change *d = last_change(id);
	CHECK(d && d->waiter_calls == r.order);         /* after the waiter */
	CHECK(d && same_info(&d->info, &r.info));
	poll_jobs();                    /* exactly once */
	CHECK(r.calls == 1 && nchanges == 3 && kicks == 1);

	c = ctrs();
	CHECK(c.done == 1 && c.accepted == 1 && c.cancelled == 0 && c.running == 0);
	CHECK(jobs_get(id, &info));     /* now from the history */
	CHECK(same_info(&info, &r.info));
	check_idle();
}

/* One job of limit and tasks on cores picked by seed: its result. */
static uint64_t run_job(uint64_t limit, uint32_t tasks, enum job_mode mode, unsigned *seed)
{
	struct rec r;
	struct job_spec s = { .limit = limit, .tasks = tasks, .mode = mode };
	uint64_t id;
	if (jobs_submit(&s, now, rec_init(&r), &id) != JOB_OK)
		return ~0ULL;
	run_random(seed);
	poll_jobs();
	if (r.calls != 1 || r.info.state != JOB_DONE || !r.info.has_result || r.info.id != id)
		return ~0ULL;
	return r.info.result;
}

/* Results against count_primes_below: repeat, and split over every task
 * count from 1 to 1024, on random cores (every core's slot is summed),
 * under both policies; each job one allocation, whatever its chunks. */
static void test_results(void)
{
	setup(WORKTAB_SHARE);
	unsigned seed = 7;
	/* Known counts, and limits at and below the first primes. */
	CHECK(run_job(1000000, 7, JOB_SPLIT, &seed) == 78498);
	CHECK(run_job(100000, 5, JOB_SPLIT, &seed) == 9592);
	uint64_t tiny[] = { 0, 1, 2, 3, 4, 5 }, tiny_pi[] = { 0, 0, 0, 1, 2, 2 };
	for (int i = 0; i < 6; i++) {
		CHECK(run_job(tiny[i], 3, JOB_REPEAT, &seed) == 3 * tiny_pi[i]);
		CHECK(run_job(tiny[i], 1024, JOB_SPLIT, &seed) == tiny_pi[i]);  /* empty tasks */
	}
	long per_core[NCORES];
	for (int c = 0; c < NCORES; c++)
		per_core[c] = cores[c].ran;
	/* Split at a limit of many chunks a task, a few task counts. */
	const uint64_t big = 300000;
	uint64_t pi_big = count_primes_below(big);
	uint32_t some[] = { 1, 2, 3, 7, 64, 1000, 1024 };
	int bad = 0;
	for (int p = 0; p < 2; p++) {
		table_policy(p ? WORKTAB_TASK : WORKTAB_SHARE);
		for (unsigned i = 0; i < sizeof(some) / sizeof(some[0]); i++)
			bad += run_job(big, some[i], JOB_SPLIT, &seed) != pi_big;
		uint32_t rep[] = { 1, 2, 5, 64, 1024 };
		for (unsigned i = 0; i < sizeof(rep) / sizeof(rep[0]); i++)
			bad += run_job(1000, rep[i], JOB_REPEAT, &seed) != 168ull * rep[i];
	}
	CHECK(bad == 0);
	/* Every task count, 1..1024, at a small limit: odd under share, even
	 * under task. */
	const uint64_t small = 3000;
	uint64_t pi_small = count_primes_below(small);
	CHECK(pi_small == 430);
	int bad_share = 0, bad_task = 0, a0 = job_allocs;
	long ran0 = chunks_ran;
	for (uint32_t t = 1; t <= JOBS_TASKS_MAX; t++) {
		table_policy(t % 2 ? WORKTAB_SHARE : WORKTAB_TASK);
		if (run_job(small, t, JOB_SPLIT, &seed) != pi_small)
			*(t % 2 ? &bad_share : &bad_task) += 1;
	}
	CHECK(bad_share == 0 && bad_task == 0);
	CHECK(job_allocs == a0 + JOBS_TASKS_MAX);       /* one per job, none per chunk */
	CHECK(chunks_ran - ran0 >= (long)JOBS_TASKS_MAX * (JOBS_TASKS_MAX + 1) / 2);
	for (int c = 0; c < NCORES; c++)
		CHECK(cores[c].ran > per_core[c]);      /* every core's slot was used */
	table_policy(WORKTAB_SHARE);
	check_idle();
}

struct listing {
	int n;
	uint64_t ids[JOBS_MAX_INFLIGHT + JOBS_HISTORY + 8];
	enum job_state states[JOBS_MAX_INFLIGHT + JOBS_HISTORY + 8];
};

static void collect(const struct job_info *info, void *arg)
{
	struct listing *l = arg;
	if (l->n < (int)(sizeof(l->ids) / sizeof(l->ids[0]))) {
		l->ids[l->n] = info->id;
		l->states[l->n] = info->state;
	}
	l->n++;
}

/* Newest first, in flight and history merged by id, at most max. */
static void test_list_order(void)
{
	setup(WORKTAB_SHARE);
	struct job_spec s = { .limit = 100, .tasks = 1, .mode = JOB_REPEAT };
	uint64_t x, y, a, b;
	CHECK(jobs_submit(&s, now, NULL, &x) == JOB_OK);
	CHECK(jobs_submit(&s, now, NULL, &y) == JOB_OK);
	drain();                        /* x, y in the history */
	CHECK(jobs_submit(&s, now, NULL, &a) == JOB_OK);
	run_all(1);                     /* a finished, not polled */
	CHECK(jobs_submit(&s, now, NULL, &b) == JOB_OK);
	CHECK(x == 1 && y == 2 && a == 3 && b == 4);
	struct listing l = { 0 };
	jobs_list(4, collect, &l);
	CHECK(l.n == 4);
	CHECK(l.ids[0] == b && l.states[0] == JOB_QUEUED);
	CHECK(l.ids[1] == a && l.states[1] == JOB_DONE);
	CHECK(l.ids[2] == y && l.states[2] == JOB_DONE);
	CHECK(l.ids[3] == x);
	memset(&l, 0, sizeof(l));
	jobs_list(1, collect, &l);      /* ?limit=1 */
	CHECK(l.n == 1 && l.ids[0] == b);
	memset(&l, 0, sizeof(l));
	jobs_list(0, collect, &l);
	CHECK(l.n == 0);
	drain();
	/* The history in finishing order, not by id: p (taking the first
	 * in-flight slot) is cancelled and filed first, q takes its slot and
	 * is filed before the older o. */
	uint64_t p, o, q;
	CHECK(jobs_submit(&s, now, NULL, &p) == JOB_OK);
	CHECK(jobs_submit(&s, now, NULL, &o) == JOB_OK);
	struct job_info info;
	CHECK(jobs_cancel(p, &info) == JOB_CANCEL_DONE);
	poll_jobs();
	CHECK(jobs_submit(&s, now, NULL, &q) == JOB_OK);
	drain();
	memset(&l, 0, sizeof(l));
	jobs_list(1000, collect, &l);
	CHECK(l.n == 7);
	for (int i = 0; i < l.n; i++)
		CHECK(l.ids[i] == (uint64_t)(7 - i));
	CHECK(l.ids[0] == q && l.ids[1] == o && l.ids[2] == p && l.states[2] == JOB_CANCELLED);
	check_idle();
}

/* 64 jobs in flight, then busy; a table that refuses; no memory. Each
 * refusal counted, nothing allocated or kept, no id used, no waiter held,
 * nothing reported. */
static void test_busy(void)
{
	setup(WORKTAB_SHARE);
	struct job_spec s = { .limit = 100, .tasks = 1, .mode = JOB_REPEAT };
	static struct rec rs[JOBS_MAX_INFLIGHT + 1];
	uint64_t ids[JOBS_MAX_INFLIGHT];
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++)
		CHECK(jobs_submit(&s, now, rec_init(&rs[i]), &ids[i]) == JOB_OK);
	for (int i = 1; i < JOBS_MAX_INFLIGHT; i++)
		CHECK(ids[i] == ids[i - 1] + 1);
	CHECK(ctrs().running == JOBS_MAX_INFLIGHT);
	CHECK(wt.used == ~0ULL);        /* the table is full too */
	struct job_counters c0 = ctrs();
	int a0 = job_allocs, n0 = nchanges, adds0 = adds;
	uint64_t extra = 777;
	CHECK(jobs_submit(&s, now, rec_init(&rs[64]), &extra) == JOB_EBUSY);
	CHECK(extra == 777 && rs[64].w.job == 0);
	CHECK(job_allocs == a0 && adds == adds0 && nchanges == n0);
	CHECK(ctrs().rejected == c0.rejected + 1 && ctrs().accepted == c0.accepted);
	/* All finished, not polled: still busy, though the table is empty. */
	CHECK(run_all(3) == JOBS_MAX_INFLIGHT);
	CHECK(kicks == JOBS_MAX_INFLIGHT && wt.used == 0);
	CHECK(jobs_submit(&s, now, rec_init(&rs[64]), &extra) == JOB_EBUSY);
	CHECK(ctrs().rejected == c0.rejected + 2);
	poll_jobs();
	int all_once = 1;
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++)
		if (rs[i].calls != 1 || rs[i].info.id != ids[i] || rs[i].info.result != 25)
			all_once = 0;
	CHECK(all_once);
	CHECK(ctrs().running == 0);
	CHECK(jobs_submit(&s, now, rec_init(&rs[64]), &extra) == JOB_OK);
	CHECK(extra == ids[63] + 1);    /* refusals use up no id */
	drain();
	CHECK(rs[64].calls == 1 && rs[64].info.result == 25);

	/* The table refuses (it cannot while fewer than 64 are in flight):
	 * busy, the job's memory freed, no id, nothing reported. */
	add_refuses = true;
	c0 = ctrs();
	a0 = job_allocs;
	int f0 = job_frees;
	n0 = nchanges;
	struct rec rr;
	struct job_spec s16 = { .limit = 100, .tasks = 16, .mode = JOB_SPLIT };
	uint64_t id = 777;
	CHECK(jobs_submit(&s16, now, rec_init(&rr), &id) == JOB_EBUSY);
	CHECK(id == 777 && rr.w.job == 0);
	CHECK(job_allocs == a0 + 1 && job_frees == f0 + 1);
	struct job_counters c1 = ctrs();
	CHECK(c1.rejected == c0.rejected + 1 && c1.accepted == c0.accepted && c1.running == 0);
	CHECK(nchanges == n0);
	struct job_info info;
	CHECK(!jobs_get(extra + 1, &info));
	poll_jobs();
	CHECK(rr.calls == 0);
	add_refuses = false;

	/* No memory: ENOMEM, counted, nothing added. */
	calloc_fails = true;
	adds0 = adds;
	CHECK(jobs_submit(&s16, now, rec_init(&rr), &id) == JOB_ENOMEM);
	calloc_fails = false;
	CHECK(id == 777 && rr.w.job == 0 && adds == adds0 && nchanges == n0);
	CHECK(ctrs().rejected == c1.rejected + 1 && ctrs().accepted == c1.accepted);

	CHECK(jobs_submit(&s16, now, rec_init(&rr), &id) == JOB_OK);
	CHECK(id == extra + 1);
	drain();
	CHECK(rr.calls == 1 && rr.info.result == 25);
	check_idle();
}

/* Several waiters on one job; unwait; unwait of a waiter not held; wait
 * on a job not in flight; a waiter reused from its own done. */
static struct rec reuse_rec;
static uint64_t reuse_next;             /* the job reuse_rec's done waits for next */
static bool reuse_ok;

static void reuse_done(struct job_waiter *w, const struct job_info *info)
{
	reuse_rec.calls++;
	if (reuse_rec.calls == 1)
		reuse_ok = jobs_wait(reuse_next, w);
	else
		reuse_rec.info = *info;
}

/* A waiter whose done lets go of another waiter of the same job (its
 * owner goes away meanwhile). */
static struct rec unwait_x, unwait_y, unwait_z;

static void unwait_other_done(struct job_waiter *w, const struct job_info *info)
{
	rec_done(w, info);
	jobs_unwait(&unwait_y.w);
}

static void test_waiters(void)
{
	setup(WORKTAB_SHARE);
	struct job_spec s = { .limit = 20000, .tasks = 2, .mode = JOB_SPLIT };
	struct rec r0, r1, r2, r3, idle;
	uint64_t id;
	CHECK(jobs_submit(&s, now, rec_init(&r0), &id) == JOB_OK);
	CHECK(jobs_wait(id, rec_init(&r1)) && r1.w.job == id);
	CHECK(jobs_wait(id, rec_init(&r2)));
	CHECK(jobs_wait(id, rec_init(&r3)));
	jobs_unwait(&r2.w);             /* its owner went away */
	CHECK(r2.w.job == 0);
	rec_init(&idle);
	jobs_unwait(&idle.w);           /* never held: harmless */
	jobs_unwait(&r2.w);             /* twice: harmless */
	CHECK(!jobs_wait(id + 1, &idle.w) && idle.w.job == 0);  /* no such job */
	run_one(0, 5);
	poll_jobs();
	CHECK(r0.calls + r1.calls + r3.calls == 0);
	drain();
	CHECK(r0.calls == 1 && r1.calls == 1 && r3.calls == 1 && r2.calls == 0 && idle.calls == 0);
	CHECK(r0.info.state == JOB_DONE && r0.info.result == 2262);
	CHECK(same_info(&r0.info, &r1.info) && same_info(&r0.info, &r3.info));
	struct job_info info;
	CHECK(jobs_get(id, &info) && same_info(&info, &r0.info));
	const struct change *d = last_change(id);
	CHECK(d && d->info.state == JOB_DONE && d->waiter_calls == waiter_calls);       /* after all three */
	CHECK(!jobs_wait(id, &r1.w) && r1.w.job == 0);  /* in the history: not in flight */
	jobs_unwait(&r1.w);             /* after its call: harmless */
	poll_jobs();
	CHECK(r0.calls == 1 && r1.calls == 1 && r3.calls == 1);

	/* The only waiter unwaited: the job ends without telling anyone. */
	CHECK(jobs_submit(&s, now, rec_init(&r0), &id) == JOB_OK);
	jobs_unwait(&r0.w);
	drain();
	CHECK(r0.calls == 0 && jobs_get(id, &info) && info.state == JOB_DONE);

	/* X's done lets go of Y: Y is called only if it was told before X,
	 * and Z still is, once. */
	CHECK(jobs_submit(&s, now, rec_init(&unwait_z), &id) == JOB_OK);
	CHECK(jobs_wait(id, rec_init(&unwait_y)));
	CHECK(jobs_wait(id, rec_init(&unwait_x)));
	unwait_x.w.done = unwait_other_done;
	drain();
	CHECK(unwait_x.calls == 1);
	bool kept = (unwait_y.calls == 0 || unwait_y.order < unwait_x.order) &&
		    unwait_z.calls == 1 && unwait_z.w.job == 0;
	if (KNOWN_BUG_UNWAIT_IN_DELIVERY)
		CHECK(!kept);           /* still shows; fixed? set the switch to 0 */
	else
		CHECK(kept);

	/* A waiter reused from its own done, to wait for the next job. */
	uint64_t first;
	memset(&reuse_rec, 0, sizeof(reuse_rec));
	reuse_rec.w.done = reuse_done;
	CHECK(jobs_submit(&s, now, &reuse_rec.w, &first) == JOB_OK);
	run_all(1);                     /* first ended, not polled */
	CHECK(jobs_submit(&s, now, NULL, &reuse_next) == JOB_OK);
	poll_jobs();
	CHECK(reuse_rec.calls == 1 && reuse_ok && reuse_rec.w.job == reuse_next);
	drain();
	CHECK(reuse_rec.calls == 2);
	CHECK(reuse_rec.info.id == reuse_next && reuse_rec.info.state == JOB_DONE);
	check_idle();
}

/* A waiter that submits a job from its done: the job's slot is free
 * before its waiters run, so with all 64 taken a waiter can still
 * submit; the new job's queued is reported before the old one's done. */
struct resubmit {
	struct rec rec;         /* first */
	enum job_err err;
	uint64_t id;
	struct rec next;
};

static void resubmit_done(struct job_waiter *w, const struct job_info *info)
{
	struct resubmit *r = (struct resubmit *)w;
	rec_done(w, info);
	struct job_spec s = { .limit = 1000, .tasks = 2, .mode = JOB_SPLIT };
	r->err = jobs_submit(&s, now, rec_init(&r->next), &r->id);
}

static void test_waiter_submits(void)
{
	setup(WORKTAB_SHARE);
	struct resubmit rs;
	static struct rec others[JOBS_MAX_INFLIGHT];
	struct job_spec s = { .limit = 100, .tasks = 1, .mode = JOB_REPEAT };
	uint64_t first;
	rec_init(&rs.rec);
	rs.rec.w.done = resubmit_done;
	rs.err = JOB_EINVAL;
	CHECK(jobs_submit(&s, now, &rs.rec.w, &first) == JOB_OK);
	for (int i = 1; i < JOBS_MAX_INFLIGHT; i++)
		CHECK(jobs_submit(&s, now, rec_init(&others[i]), NULL) == JOB_OK);
	CHECK(ctrs().running == JOBS_MAX_INFLIGHT);
	CHECK(jobs_submit(&s, now, NULL, NULL) == JOB_EBUSY);
	run_all(1);
	poll_jobs();
	CHECK(rs.rec.calls == 1 && rs.rec.info.id == first && rs.rec.info.result == 25);
	CHECK(rs.err == JOB_OK);
	CHECK(rs.id == first + JOBS_MAX_INFLIGHT);
	CHECK(ctrs().running == 1);
	CHECK(rs.next.calls == 0);
	int all_once = 1;
	for (int i = 1; i < JOBS_MAX_INFLIGHT; i++)
		all_once &= others[i].calls == 1;
	CHECK(all_once);
	struct job_info info;
	CHECK(jobs_get(rs.id, &info) && info.state == JOB_QUEUED && info.spec.tasks == 2);
	/* The new job's queued, then the first job's done. */
	int q = -1, d = -1;
	for (int i = 0; i < nchanges && i < CHANGES_MAX; i++) {
		if (changes[i].info.id == rs.id && changes[i].info.state == JOB_QUEUED)
			q = i;
		if (changes[i].info.id == first && changes[i].info.state == JOB_DONE)
			d = i;
	}
	CHECK(q >= 0 && d >= 0 && q < d);
	drain();
	CHECK(rs.next.calls == 1 && rs.next.info.result == 168);
	CHECK(rs.rec.calls == 1);
	check_idle();
}

/* The heap rule (jobs.h, JOBS_HEAP_RESERVE): a job whose allocations
 * would leave less than the reserve free is refused busy, before anything
 * is allocated or added; one that leaves exactly the reserve runs.
 * jobs_mem_need bounds what the job allocates. */
static void test_heap_rule(void)
{
	struct jobs_platform p = fake_plat;
	p.mem_free = fake_mem_free;
	setup_with(&p, WORKTAB_SHARE, true);
	mem_free_now = (size_t)1 << 40;

	struct job_spec big = { .limit = 100, .tasks = JOBS_TASKS_MAX, .mode = JOB_SPLIT };
	struct job_spec big_repeat = { .limit = 100, .tasks = JOBS_TASKS_MAX, .mode = JOB_REPEAT };
	struct job_spec small = { .limit = 100, .tasks = 1, .mode = JOB_REPEAT };
	size_t need = jobs_mem_need(&big);
	CHECK(jobs_mem_need(&big_repeat) < need);
	CHECK(jobs_mem_need(&small) < jobs_mem_need(&big_repeat));
	CHECK(jobs_mem_need(&small) < 1024);

	/* One byte short: busy, counted, nothing allocated or added. */
	mem_free_now = need + JOBS_HEAP_RESERVE - 1;
	struct job_counters c0 = ctrs();
	int a0 = job_allocs, asked = mem_free_calls;
	uint64_t id = 777;
	struct rec r;
	CHECK(jobs_submit(&big, now, rec_init(&r), &id) == JOB_EBUSY);
	CHECK(mem_free_calls > asked);
	CHECK(id == 777 && adds == 0 && job_allocs == a0 && r.w.job == 0);
	struct job_counters c1 = ctrs();
	CHECK(c1.rejected == c0.rejected + 1 && c1.accepted == c0.accepted && c1.running == 0);
	CHECK(nchanges == 0);
	/* A small job still fits where the big one did not. */
	struct rec rs;
	CHECK(jobs_submit(&small, now, rec_init(&rs), &id) == JOB_OK);
	CHECK(alloc_size <= jobs_mem_need(&small));
	drain();
	CHECK(rs.calls == 1 && rs.info.result == 25);
	/* Exactly the reserve left: accepted, it runs, in one allocation
	 * within the bound. */
	mem_free_now = need + JOBS_HEAP_RESERVE;
	a0 = job_allocs;
	CHECK(jobs_submit(&big, now, rec_init(&r), &id) == JOB_OK);
	CHECK(job_allocs == a0 + 1);
	CHECK(alloc_size <= need && alloc_size >= 2 * JOBS_TASKS_MAX * sizeof(uint64_t));
	drain();
	CHECK(job_allocs == a0 + 1);
	CHECK(r.calls == 1 && r.info.result == 25);
	mem_free_now = jobs_mem_need(&big_repeat) + JOBS_HEAP_RESERVE;
	CHECK(jobs_submit(&big_repeat, now, rec_init(&r), &id) == JOB_OK);
	CHECK(alloc_size <= jobs_mem_need(&big_repeat));
	drain();
	CHECK(r.calls == 1 && r.info.result == 25 * JOBS_TASKS_MAX);
	/* Below the reserve nothing is accepted, however small. */
	mem_free_now = JOBS_HEAP_RESERVE - 1;
	c0 = ctrs();
	a0 = job_allocs;
	CHECK(jobs_submit(&small, now, rec_init(&rs), &id) == JOB_EBUSY);
	CHECK(ctrs().rejected == c0.rejected + 1 && job_allocs == a0);
	mem_free_now = (size_t)1 << 40;
	check_idle();
}

/* Cancelled while queued: the withdraw takes every chunk and ends the job
 * at once; DONE, reported once; the waiters are told cancelled at the
 * next jobs_poll (also one that came after the cancel). */
static void test_cancel_queued(void)
{
	setup(WORKTAB_SHARE);
	struct rec r, late;
	struct job_spec s = { .limit = 100000, .tasks = 4, .mode = JOB_REPEAT };
	uint64_t id, t0 = now;
	CHECK(jobs_submit(&s, t0, rec_init(&r), &id) == JOB_OK);
	now += 50;
	struct job_info info;
	memset(&info, 0, sizeof(info));
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_DONE);
	CHECK(withdraws == 1);
	CHECK(info.id == id && info.state == JOB_CANCELLED && !info.has_result);
	CHECK(info.elapsed_ns == 50 && info.submitted_ns == t0);
	CHECK(kicks == 1);              /* it ended there, on the BSP */
	CHECK(SEQ(id, JOB_QUEUED, JOB_CANCELLED));
	const struct change *c = last_change(id);
	CHECK(c && c->info.elapsed_ns == 50 && c->info.spec.tasks == 4);
	CHECK(r.calls == 0);            /* jobs_cancel calls no waiter */
	long ran = chunks_ran;
	CHECK(!run_one(0, 1) && wt.used == 0);
	run_all(1);
	CHECK(chunks_ran == ran);       /* nothing of it runs */
	CHECK(jobs_get(id, &info) && info.state == JOB_CANCELLED && info.elapsed_ns == 50);
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_ENDED);      /* the second time */
	CHECK(info.state == JOB_CANCELLED && !info.has_result);
	CHECK(withdraws == 1 && nchanges == 2);
	CHECK(jobs_wait(id, rec_init(&late)));  /* still in flight until the poll */
	now += 5;
	poll_jobs();
	CHECK(r.calls == 1 && late.calls == 1);
	CHECK(r.info.id == id && r.info.state == JOB_CANCELLED && !r.info.has_result);
	CHECK(r.info.elapsed_ns == 50 && same_info(&r.info, &late.info));
	CHECK(nchanges == 2);           /* not reported again */
	struct job_counters k = ctrs();
	CHECK(k.cancelled == 1 && k.done == 0 && k.accepted == 1 && k.running == 0);
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_ENDED);      /* from the history */
	CHECK(info.id == id && info.state == JOB_CANCELLED && !info.has_result);
	poll_jobs();
	CHECK(r.calls == 1 && kicks == 1);
	check_idle();
}

/* Cancelled while running: some chunks ran and one is claimed, not yet
 * run. DONE; the claimed chunk still runs (the kick comes with it), the
 * rest never; the job ends cancelled, without result. */
static void test_cancel_running(void)
{
	setup(WORKTAB_SHARE);
	struct rec r;
	struct job_spec s = { .limit = 100000, .tasks = 2, .mode = JOB_REPEAT };
	uint64_t id, t0 = now;
	CHECK(jobs_submit(&s, t0, rec_init(&r), &id) == JOB_OK);
	CHECK(run_one(0, 10) && run_one(1, 10) && run_one(2, 10));
	poll_jobs();
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING));
	CHECK(claim_on(3));
	now += 10;
	struct job_info info;
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_DONE);
	CHECK(info.state == JOB_CANCELLED && !info.has_result && info.elapsed_ns == now - t0);
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING, JOB_CANCELLED));
	CHECK(kicks == 0);              /* core 3's chunk is still to end */
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_ENDED && info.state == JOB_CANCELLED);
	poll_jobs();
	CHECK(r.calls == 0);            /* not ended yet */
	CHECK(!run_one(0, 1) && !run_one(1, 1) && !run_one(2, 1));
	CHECK(run_one(3, 10));          /* the claimed chunk runs to its end */
	CHECK(kicks == 1 && !run_one(3, 1));
	CHECK(cores[0].ran + cores[1].ran + cores[2].ran + cores[3].ran == 4);
	uint64_t t_end = now;
	now += 100;
	CHECK(jobs_get(id, &info) && info.state == JOB_CANCELLED && info.elapsed_ns == t_end - t0);
	poll_jobs();
	CHECK(r.calls == 1 && r.info.state == JOB_CANCELLED && !r.info.has_result);
	CHECK(r.info.elapsed_ns == t_end - t0);
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING, JOB_CANCELLED));
	CHECK(ctrs().cancelled == 1 && ctrs().done == 0);

	/* A job of years (2^40, 2 tasks): cancelled after its first chunks,
	 * it ends at once, within one chunk. */
	struct job_spec years = { .limit = JOBS_LIMIT_MAX, .tasks = 2, .mode = JOB_REPEAT };
	CHECK(jobs_submit(&years, now, rec_init(&r), &id) == JOB_OK);
	for (int i = 0; i < 8; i++)
		CHECK(run_one(i % NCORES, 1));
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_DONE);
	CHECK(kicks == 2 && !run_one(0, 1));
	poll_jobs();
	CHECK(r.calls == 1 && r.info.state == JOB_CANCELLED && !r.info.has_result);

	/* Started, not yet seen by a poll, then cancelled: never running. */
	CHECK(jobs_submit(&s, now, NULL, &id) == JOB_OK);
	CHECK(run_one(2, 10));
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_DONE);
	drain();
	CHECK(SEQ(id, JOB_QUEUED, JOB_CANCELLED));
	CHECK(ctrs().cancelled == 3);
	check_idle();
}

/* Every chunk claimed: FINISHING (a DELETE cannot take back work that is
 * under way); the job ends done with its whole result; the waiters, also
 * one that came after the DELETE, are told done; nothing reported
 * cancelled. */
static void test_cancel_finishing(void)
{
	setup(WORKTAB_SHARE);
	struct rec r, after;
	struct job_spec s = { .limit = 100000, .tasks = 1, .mode = JOB_REPEAT };
	uint64_t id, t0 = now;
	uint64_t n = chunks_for(0, s.limit);
	CHECK(n >= 3);
	CHECK(jobs_submit(&s, t0, rec_init(&r), &id) == JOB_OK);
	for (uint64_t k = 0; k + 2 < n; k++)
		CHECK(run_one(0, 10));
	CHECK(claim_on(1) && claim_on(2));      /* the last two, claimed */
	CHECK(!claim_on(3));
	poll_jobs();
	struct job_info info;
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_FINISHING);
	CHECK(info.id == id && info.state == JOB_RUNNING && !info.has_result);
	CHECK(info.elapsed_ns == now - t0);
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING));
	CHECK(jobs_wait(id, rec_init(&after)));
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_FINISHING);  /* again: the same */
	CHECK(run_one(2, 10));
	CHECK(kicks == 0 && jobs_cancel(id, &info) == JOB_CANCEL_FINISHING);
	poll_jobs();
	CHECK(r.calls == 0 && after.calls == 0);
	CHECK(run_one(1, 10));
	CHECK(kicks == 1);
	uint64_t t_end = now;
	now += 3;
	/* Finished, not polled: ENDED, done, with its result. */
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_ENDED);
	CHECK(info.state == JOB_DONE && info.has_result && info.result == 9592);
	CHECK(info.elapsed_ns == t_end - t0);
	poll_jobs();
	CHECK(r.calls == 1 && after.calls == 1);
	CHECK(r.info.state == JOB_DONE && r.info.has_result && r.info.result == 9592);
	CHECK(same_info(&r.info, &after.info));
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING, JOB_DONE));
	struct job_counters c = ctrs();
	CHECK(c.done == 1 && c.cancelled == 0);

	/* A one-chunk job claimed, not polled as running: the same. */
	struct job_spec one = { .limit = 1000, .tasks = 1, .mode = JOB_SPLIT };
	CHECK(jobs_submit(&one, now, rec_init(&r), &id) == JOB_OK);
	CHECK(claim_on(0));
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_FINISHING && !info.has_result);
	CHECK(info.state == JOB_QUEUED || info.state == JOB_RUNNING);
	drain();
	CHECK(r.calls == 1 && r.info.state == JOB_DONE && r.info.result == 168);
	CHECK(SEQ(id, JOB_QUEUED, JOB_DONE));
	check_idle();
}

/* Finished but not polled: ENDED, done with its result, no waiter
 * called, nothing reported; filed done. In the history: ENDED. */
static void test_cancel_finished(void)
{
	setup(WORKTAB_SHARE);
	struct rec r;
	struct job_spec s = { .limit = 100000, .tasks = 2, .mode = JOB_SPLIT };
	uint64_t id, t0 = now;
	CHECK(jobs_submit(&s, t0, rec_init(&r), &id) == JOB_OK);
	long n = run_all(10);
	CHECK(n >= 2 && kicks == 1);
	struct job_info info;
	memset(&info, 0, sizeof(info));
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_ENDED);
	CHECK(info.id == id && info.state == JOB_DONE && info.has_result && info.result == 9592);
	CHECK(info.elapsed_ns == (uint64_t)n * 10);
	CHECK(r.calls == 0 && nchanges == 1);
	CHECK(jobs_get(id, &info) && info.state == JOB_DONE && info.result == 9592);
	poll_jobs();
	CHECK(r.calls == 1 && r.info.state == JOB_DONE && r.info.result == 9592);
	CHECK(SEQ(id, JOB_QUEUED, JOB_DONE));
	struct job_counters c = ctrs();
	CHECK(c.done == 1 && c.cancelled == 0);
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_ENDED && info.state == JOB_DONE &&
	      info.result == 9592);
	check_idle();
}

static void test_unknown(void)
{
	setup(WORKTAB_SHARE);
	struct job_info info;
	CHECK(jobs_cancel(999999, &info) == JOB_CANCEL_UNKNOWN);
	CHECK(!jobs_get(999999, &info));
	CHECK(jobs_cancel(0, &info) == JOB_CANCEL_UNKNOWN);
	CHECK(!jobs_get(0, &info));
	CHECK(jobs_cancel(1, &info) == JOB_CANCEL_UNKNOWN);     /* not yet submitted */
	CHECK(withdraws == 0 && nchanges == 0);
	check_idle();
}

/* sched=task: a claim holds a whole task, run chunk after chunk; a cancel
 * between two chunks of a held task takes the rest of it (the chunk the
 * core holds still runs) and every task no core took; a job whose every
 * task's last chunk is held is FINISHING. */
static void test_cancel_task_policy(void)
{
	setup(WORKTAB_TASK);
	struct rec r;
	struct job_spec s = { .limit = 100000, .tasks = 3, .mode = JOB_REPEAT };
	uint64_t id;
	CHECK(jobs_submit(&s, now, rec_init(&r), &id) == JOB_OK);
	CHECK(run_one(0, 10));          /* task 0: chunk 0 ran, chunk 1 held */
	CHECK(cores[0].holding && cores[0].cl.task == 0 && cores[0].cl.chunk == 1);
	CHECK(run_one(0, 10));          /* chunk 1 ran, chunk 2 held */
	CHECK(run_one(1, 10));          /* not task 0: it is core 0's */
	CHECK(cores[1].holding && cores[1].cl.task == 1 && cores[1].cl.chunk == 1);
	poll_jobs();
	struct job_info info;
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_DONE);
	CHECK(info.state == JOB_CANCELLED && kicks == 0);
	long before = chunks_ran;
	CHECK(!run_one(2, 1));          /* task 2 was taken back */
	CHECK(run_one(1, 10) && !cores[1].holding);     /* its held chunk, no more */
	CHECK(run_one(0, 10) && !cores[0].holding);
	CHECK(kicks == 1 && chunks_ran - before == 2);
	CHECK(run_all(1) == 0);
	poll_jobs();
	CHECK(r.calls == 1 && r.info.state == JOB_CANCELLED && !r.info.has_result);
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING, JOB_CANCELLED));

	/* Queued under task: everything taken, ended at once. */
	CHECK(jobs_submit(&s, now, rec_init(&r), &id) == JOB_OK);
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_DONE && kicks == 2);
	CHECK(run_all(1) == 0);
	poll_jobs();
	CHECK(r.calls == 1 && r.info.state == JOB_CANCELLED);

	/* Two tasks of one chunk, each held by a core: FINISHING, done. */
	struct job_spec two = { .limit = 1000, .tasks = 2, .mode = JOB_REPEAT };
	CHECK(jobs_submit(&two, now, rec_init(&r), &id) == JOB_OK);
	CHECK(claim_on(2) && claim_on(3) && !claim_on(0));
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_FINISHING);
	drain();
	CHECK(r.calls == 1 && r.info.state == JOB_DONE && r.info.result == 2 * 168);
	CHECK(SEQ(id, JOB_QUEUED, JOB_DONE));
	/* The last chunk of a many-chunk task held: FINISHING too. */
	struct job_spec one = { .limit = 100000, .tasks = 1, .mode = JOB_SPLIT };
	CHECK(jobs_submit(&one, now, rec_init(&r), &id) == JOB_OK);
	for (uint64_t k = 0; k + 1 < chunks_for(0, one.limit); k++)
		CHECK(run_one(1, 1));
	CHECK(cores[1].holding && !claim_on(0));
	CHECK(jobs_cancel(id, &info) == JOB_CANCEL_FINISHING);
	drain();
	CHECK(r.calls == 1 && r.info.state == JOB_DONE && r.info.result == 9592);
	check_idle();
}

/* The history keeps the last 256 ended jobs. */
static void test_history(void)
{
	setup(WORKTAB_SHARE);
	const int n = JOBS_HISTORY + 44;
	struct job_spec s = { .limit = 30, .tasks = 1, .mode = JOB_REPEAT };
	uint64_t first = 0, id = 0;
	for (int i = 0; i < n; i++) {
		CHECK(jobs_submit(&s, now, NULL, &id) == JOB_OK);
		if (i == 0)
			first = id;
		drain();
	}
	CHECK(id == first + (uint64_t)n - 1);
	struct job_info info;
	int found_old = 0, found_new = 0;
	for (uint64_t k = first; k <= id; k++) {
		bool got = jobs_get(k, &info);
		if (k <= id - JOBS_HISTORY)
			found_old += got;
		else
			found_new += got && info.id == k && info.state == JOB_DONE && info.result == 10;
	}
	CHECK(found_old == 0);
	CHECK(found_new == JOBS_HISTORY);
	CHECK(jobs_cancel(first, &info) == JOB_CANCEL_UNKNOWN);
	CHECK(jobs_cancel(id - JOBS_HISTORY, &info) == JOB_CANCEL_UNKNOWN);
	CHECK(jobs_cancel(id - JOBS_HISTORY + 1, &info) == JOB_CANCEL_ENDED);
	CHECK(info.id == id - JOBS_HISTORY + 1 && info.state == JOB_DONE);
	CHECK(ctrs().done == (uint64_t)n);

	struct listing l = { 0 };
	jobs_list(5, collect, &l);
	CHECK(l.n == 5);
	for (int i = 0; i < 5; i++)
		CHECK(l.ids[i] == id - (uint64_t)i);
	memset(&l, 0, sizeof(l));
	jobs_list(100000, collect, &l);
	CHECK(l.n == JOBS_HISTORY);
	CHECK(l.ids[0] == id && l.ids[JOBS_HISTORY - 1] == id - JOBS_HISTORY + 1);
	/* Plus the jobs in flight, ahead of the history. */
	uint64_t a, b;
	CHECK(jobs_submit(&s, now, NULL, &a) == JOB_OK);
	CHECK(jobs_submit(&s, now, NULL, &b) == JOB_OK);
	memset(&l, 0, sizeof(l));
	jobs_list(100000, collect, &l);
	CHECK(l.n == JOBS_HISTORY + 2);
	CHECK(l.ids[0] == b && l.ids[1] == a && l.ids[2] == id);
	CHECK(l.states[0] == JOB_QUEUED && l.states[1] == JOB_QUEUED);
	drain();
	check_idle();
}

/* ---- State changes seen by observers. ---- */

/* Two observers: each change to the first, then the second, the same. */
#define PAIR_MAX 64
static struct job_info pair_log[2 * PAIR_MAX];
static int pair_who[2 * PAIR_MAX], npair;

static void pair_record(int who, const struct job_info *info)
{
	if (npair < 2 * PAIR_MAX) {
		pair_who[npair] = who;
		pair_log[npair] = *info;
	}
	npair++;
}

static void first_changed(const struct job_info *info)
{
	pair_record(1, info);
}

static void second_changed(const struct job_info *info)
{
	pair_record(2, info);
}

static void test_observers(void)
{
	setup(WORKTAB_SHARE);
	/* A job polled between its chunks: queued at submit (its spec and
	 * submission time), running once however often jobs_poll runs, done
	 * after the waiter; the result only when done. */
	struct job_spec s = { .limit = 10000, .tasks = 3, .mode = JOB_REPEAT };
	struct rec r;
	uint64_t id, t0 = now - 40;     /* the request came a little earlier */
	CHECK(jobs_submit(&s, t0, rec_init(&r), &id) == JOB_OK);
	CHECK(nchanges == 1);
	const struct job_info *q = &changes[0].info;
	CHECK(q->id == id && q->state == JOB_QUEUED && !q->has_result);
	CHECK(q->spec.limit == 10000 && q->spec.tasks == 3 && q->spec.mode == JOB_REPEAT);
	CHECK(q->submitted_ns == t0 && q->elapsed_ns == 40);
	for (int i = 0; i < 5; i++)
		poll_jobs();
	CHECK(nchanges == 1);
	CHECK(run_one(1, 100));
	CHECK(nchanges == 1);
	poll_jobs();
	CHECK(nchanges == 2);
	const struct job_info *ru = &changes[1].info;
	CHECK(ru->id == id && ru->state == JOB_RUNNING && !ru->has_result);
	CHECK(ru->spec.tasks == 3 && ru->submitted_ns == t0 && ru->elapsed_ns == now - t0);
	while (run_one(2, 100))
		poll_jobs();
	CHECK(nchanges == 3);
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING, JOB_DONE));
	const struct change *dn = &changes[2];
	CHECK(dn->info.has_result && dn->info.result == 3 * 1229);
	CHECK(dn->waiter_calls == r.order && r.calls == 1);
	CHECK(same_info(&dn->info, &r.info));
	for (int i = 0; i < 5; i++)
		poll_jobs();
	CHECK(nchanges == 3);

	/* Ended between two polls: never running. Two side by side: each
	 * its own sequence. */
	struct job_spec one = { .limit = 100, .tasks = 1, .mode = JOB_REPEAT };
	uint64_t a, b;
	CHECK(jobs_submit(&one, now, NULL, &a) == JOB_OK);
	CHECK(run_one(0, 10));
	poll_jobs();
	CHECK(SEQ(a, JOB_QUEUED, JOB_DONE));
	CHECK(jobs_submit(&s, now, NULL, &a) == JOB_OK);
	CHECK(jobs_submit(&s, now, NULL, &b) == JOB_OK);
	cores[0].cursor = 0;            /* core 0's next turn: slot 0, a's */
	CHECK(claim_on(0) && cores[0].cl.slot == 0);
	CHECK(run_one(0, 10));
	poll_jobs();                    /* a running */
	run_all(10);                    /* the rest of a, and all of b */
	poll_jobs();
	CHECK(SEQ(a, JOB_QUEUED, JOB_RUNNING, JOB_DONE));
	CHECK(SEQ(b, JOB_QUEUED, JOB_DONE));

	/* Refused submits report nothing. */
	int n0 = nchanges;
	struct job_spec bad = { .limit = 100, .tasks = 0, .mode = JOB_REPEAT };
	CHECK(jobs_submit(&bad, now, NULL, NULL) == JOB_EINVAL);
	add_refuses = true;
	CHECK(jobs_submit(&one, now, NULL, NULL) == JOB_EBUSY);
	add_refuses = false;
	poll_jobs();
	CHECK(nchanges == n0);

	/* Two observers, called in the order they came, with the same info. */
	npair = 0;
	static struct jobs_observer o1 = { .changed = first_changed };
	static struct jobs_observer o2 = { .changed = second_changed };
	jobs_observe(&o1);
	jobs_observe(&o2);
	CHECK(jobs_submit(&s, now, NULL, &a) == JOB_OK);
	CHECK(jobs_submit(&s, now, NULL, &b) == JOB_OK);
	struct job_info info;
	cores[0].cursor = 0;
	CHECK(run_one(0, 1) && cores[0].cl.slot == 0);
	poll_jobs();
	CHECK(jobs_cancel(b, &info) == JOB_CANCEL_DONE);
	drain();
	CHECK(npair == 2 * 5);          /* a: queued, running, done; b: queued, cancelled */
	int in_order = npair == 10;
	for (int i = 0; i + 1 < npair && i + 1 < 2 * PAIR_MAX; i += 2)
		in_order &= pair_who[i] == 1 && pair_who[i + 1] == 2 &&
			    same_info(&pair_log[i], &pair_log[i + 1]);
	CHECK(in_order);
	CHECK(SEQ(a, JOB_QUEUED, JOB_RUNNING, JOB_DONE));
	CHECK(SEQ(b, JOB_QUEUED, JOB_CANCELLED));
	check_idle();

	/* No observer: every path that would report runs without one. */
	setup_with(&fake_plat, WORKTAB_SHARE, false);
	struct rec r1, r2, r3, r4;
	uint64_t c, d;
	CHECK(jobs_submit(&s, now, rec_init(&r1), &a) == JOB_OK);
	CHECK(jobs_submit(&s, now, rec_init(&r2), &b) == JOB_OK);
	CHECK(jobs_submit(&s, now, rec_init(&r3), &c) == JOB_OK);
	CHECK(jobs_submit(&one, now, rec_init(&r4), &d) == JOB_OK);
	CHECK(jobs_cancel(a, &info) == JOB_CANCEL_DONE);
	/* A chunk each of b, c and d (slots 1, 2, 3). */
	for (int k = 0; k < 3; k++) {
		cores[k].cursor = k + 1;
		CHECK(run_one(k, 10) && cores[k].cl.slot == k + 1);
	}
	poll_jobs();
	CHECK(jobs_cancel(b, &info) == JOB_CANCEL_DONE);
	CHECK(jobs_cancel(d, &info) == JOB_CANCEL_ENDED && info.state == JOB_DONE);
	drain();
	CHECK(r1.calls == 1 && r1.info.state == JOB_CANCELLED);
	CHECK(r2.calls == 1 && r2.info.state == JOB_CANCELLED);
	CHECK(r3.calls == 1 && r3.info.state == JOB_DONE && r3.info.result == 3 * 1229);
	CHECK(r4.calls == 1 && r4.info.state == JOB_DONE && r4.info.result == 25);
	CHECK(nchanges == 0);
	check_idle();
}

/* Re-init frees the jobs in flight (LeakSanitizer would see them) and
 * starts the ids, counters, history and listing afresh. */
static void test_reinit(void)
{
	setup(WORKTAB_SHARE);
	struct job_spec s = { .limit = 100000, .tasks = 2, .mode = JOB_SPLIT };
	uint64_t a, b, c;
	CHECK(jobs_submit(&s, now, NULL, &a) == JOB_OK);
	drain();
	CHECK(jobs_submit(&s, now, NULL, &b) == JOB_OK);       /* queued */
	CHECK(jobs_submit(&s, now, NULL, &c) == JOB_OK);       /* running, a chunk held */
	for (int i = 0; i < 5; i++)
		run_one(i % 2, 1);
	CHECK(claim_on(3));
	CHECK(job_allocs - job_frees == 2);
	/* The table is the platform's: it starts afresh with the engine. */
	setup(WORKTAB_SHARE);
	CHECK(job_allocs == job_frees);
	struct job_counters k = ctrs();
	CHECK(k.accepted == 0 && k.done == 0 && k.cancelled == 0 && k.rejected == 0 &&
	      k.running == 0);
	struct job_info info;
	CHECK(!jobs_get(a, &info) && !jobs_get(b, &info) && !jobs_get(c, &info));
	struct listing l = { 0 };
	jobs_list(100, collect, &l);
	CHECK(l.n == 0);
	struct rec r;
	uint64_t id = 0;
	CHECK(jobs_submit(&s, now, rec_init(&r), &id) == JOB_OK);
	CHECK(id == 1);
	drain();
	CHECK(r.calls == 1 && r.info.id == 1 && r.info.result == 9592);
	k = ctrs();
	CHECK(k.accepted == 1 && k.done == 1 && k.running == 0);
	check_idle();
}

/* ---- A DELETE racing the job's last chunk (issue 16). ----
 *
 * The BSP (this thread) runs every chunk of a job but the last; a second
 * thread, the racer, claims and runs that one on core 1. The racer can
 * be held at a point of its way until the BSP's DELETE returned: its
 * claim, its chunk (the engine asks core_index for its slot), the work
 * table's window after the job's last count-down and before finish, the
 * engine's reading of the end time before it marks the job complete; or
 * the DELETE comes after a random delay, the racer slowed at random at
 * each point. Whatever the timing: the DELETE is DONE (the job cancelled,
 * without result) exactly when the racer ran no chunk; otherwise it is
 * FINISHING (the job as it runs) or ENDED (the final job, done with its
 * result), and the job ends done with its exact result, its waiters (one
 * of them registered after FINISHING) told done, never reported
 * cancelled. */

static enum race_point rp_hold;         /* the racer waits there for the DELETE */
static bool rp_pounce;                  /* at RP_HELD: until the DELETE's swap, no longer */
static bool rp_inside;                  /* the BSP lets it go from inside the DELETE */
static int rp_go;                       /* atomic: the racer may claim */
static int rp_released;                 /* atomic: the racer may go on */
static int rp_ran;                      /* atomic: the racer ran a chunk */
static unsigned rp_jitter_ns;           /* else it spins up to this long at each point */
static uint64_t rp_go_ns;               /* when the BSP let it claim */
static uint64_t rp_path_ns;             /* from then to its return (0: it claimed nothing) */
static __thread unsigned rp_seed;
#define RACE_WAIT_NS 2000000000ull      /* a hold that never ends: fail, not hang */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin_ns(uint64_t ns)
{
	for (uint64_t end = mono_ns() + ns; mono_ns() < end;)
		;
}

/* Waits until *flag is at least v: false on the timeout. */
static bool wait_for(int *flag, int v)
{
	uint64_t end = mono_ns() + RACE_WAIT_NS;
	while (__atomic_load_n(flag, __ATOMIC_SEQ_CST) < v)
		if (mono_ns() > end)
			return false;
		else
			sched_yield();
	return true;
}

static void racer_at(enum race_point p)
{
	__atomic_store_n(&rp, p, __ATOMIC_SEQ_CST);
	if (p == RP_COUNTED)
		__atomic_store_n(&rp_ran, 1, __ATOMIC_SEQ_CST);
	if (p == rp_hold && p == RP_HELD && rp_pounce) {
		/* Go on the moment the withdraw swaps the held task's
		 * task_next (the racer's task is the last claimed). */
		const struct worktab_slot *sl = &wt.slot[__builtin_ctzll(wt.used)];
		uint64_t *next = &sl->w.task_next[sl->next - 1];
		uint64_t end = mono_ns() + RACE_WAIT_NS;
		while (!__atomic_load_n(next, __ATOMIC_SEQ_CST) && mono_ns() < end)
			;
	} else if (p == rp_hold) {
		wait_for(&rp_released, 1);
	} else if (rp_jitter_ns)
		spin_ns((unsigned)rand_r(&rp_seed) % rp_jitter_ns);
}

/* The work table's windows, on the racer: before its claim; under task
 * after it took the task, before its first chunk; and (after its chunk
 * ran, or its hold ended a withdrawn task) between the job's last
 * count-down and finish. */
static void race_window(void)
{
	if (!racer)
		return;
	int at = __atomic_load_n(&rp, __ATOMIC_SEQ_CST);
	if (at >= RP_HELD)
		racer_at(RP_LAST_DEC);
	else if (at == RP_CLAIMING && wt.policy == WORKTAB_TASK)
		racer_at(RP_HELD);
	else
		racer_at(RP_CLAIMING);
}

/* The BSP inside jobs_cancel reads the clock (the job not yet complete):
 * let the racer go and wait until the job is complete. */
static void bsp_clock_hook(void)
{
	if (!rp_inside)
		return;
	rp_inside = false;
	__atomic_store_n(&rp_released, 1, __ATOMIC_SEQ_CST);
	CHECK(wait_for(&rp, RP_RETURNED));
}

static void *racer_main(void *arg)
{
	racer = true;
	core = 1;
	rp_seed = (unsigned)(uintptr_t)arg;
	__atomic_store_n(&rp, RP_STARTED, __ATOMIC_SEQ_CST);
	wait_for(&rp_go, 1);            /* the DELETE's delay counts from the go */
	struct claim cl;
	int cursor = 0;
	if (!worktab_claim(&wt, 1, &cursor, &cl)) {
		__atomic_store_n(&rp, RP_NO_CLAIM, __ATOMIC_SEQ_CST);
		return NULL;
	}
	while (worktab_run(&wt, &cl) & WORKTAB_MORE)
		;
	rp_path_ns = mono_ns() - rp_go_ns;      /* read after the join */
	__atomic_store_n(&rp, RP_RETURNED, __ATOMIC_SEQ_CST);
	return NULL;
}

struct race_stats {
	int rc[4];                      /* by enum job_cancel */
	int at[RP_NO_CLAIM + 1];        /* where the racer was as the DELETE came */
	int stale;                      /* ENDED with a running job's info (a known bug) */
	int lost;                       /* the job's end lost (a known bug) */
	int bad;                        /* races with a failed check */
};

/* What races: a job, the chunks the BSP runs before the racer takes the
 * last, and the job's result. */
struct race_job {
	struct job_spec spec;
	uint64_t bsp_chunks;
	uint64_t want;
};

/* One race: the racer held at a point (RP_NONE: none; inside: let go
 * from inside the DELETE; pounce: at RP_HELD, let go by the DELETE's swap
 * of its task's next chunk), or the DELETE after delay_ns with the racer
 * slowed by up to jitter_ns at each point. Returns its answer. */
static enum job_cancel race_once(const struct race_job *rj, enum race_point hold, bool inside,
				 bool pounce, uint64_t delay_ns, unsigned jitter_ns, unsigned seed,
				 struct race_stats *st)
{
	int fails = check_failures;
	struct job_counters c0 = ctrs();
	uint64_t want = rj->want;
	struct rec r, after;
	rec_init(&after);
	uint64_t id;
	CHECK(jobs_submit(&rj->spec, now, rec_init(&r), &id) == JOB_OK);
	for (uint64_t k = 0; k < rj->bsp_chunks; k++)
		CHECK(run_one(0, 10));
	CHECK(!any_holding() && worktab_has_work(&wt));
	__atomic_store_n(&rp, RP_NONE, __ATOMIC_SEQ_CST);
	__atomic_store_n(&rp_released, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&rp_go, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&rp_ran, 0, __ATOMIC_SEQ_CST);
	rp_path_ns = 0;
	rp_hold = hold;
	rp_pounce = pounce;
	rp_jitter_ns = jitter_ns;
	pthread_t th;
	CHECK(pthread_create(&th, NULL, racer_main, (void *)(uintptr_t)seed) == 0);
	CHECK(wait_for(&rp, RP_STARTED));
	rp_go_ns = mono_ns();
	__atomic_store_n(&rp_go, 1, __ATOMIC_SEQ_CST);
	if (hold != RP_NONE)
		CHECK(wait_for(&rp, hold));
	else
		spin_ns(delay_ns);
	int at = __atomic_load_n(&rp, __ATOMIC_SEQ_CST);
	struct job_info info;
	rp_inside = inside;
	enum job_cancel rc = jobs_cancel(id, &info);
	bool let_go_inside = inside && !rp_inside;
	rp_inside = false;
	bool waited = rc == JOB_CANCEL_FINISHING && jobs_wait(id, &after.w);
	__atomic_store_n(&rp_released, 1, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	poll_jobs();
	bool ran = __atomic_load_n(&rp_ran, __ATOMIC_SEQ_CST);
	st->rc[rc]++;
	st->at[at]++;
	if (KNOWN_BUG_TASK_LOST_END && rc == JOB_CANCEL_DONE && kicks == 0 && r.calls == 0 &&
	    wt.policy == WORKTAB_TASK) {
		/* The lost end: set up afresh, the job's memory freed. */
		st->lost++;
		fprintf(stderr, "test_jobs: known bug: a cancelled sched=task job never ended "
			"(worktab_withdraw lost its task's end); set up afresh\n");
		setup(WORKTAB_TASK);
		kicks = 0;
		st->bad += check_failures != fails;
		return rc;
	}
	/* The DELETE took the last chunk back exactly when the racer ran
	 * none: only then is the job cancelled. */
	CHECK((rc == JOB_CANCEL_DONE) == !ran);
	CHECK(rc != JOB_CANCEL_UNKNOWN);
	CHECK(info.id == id);
	CHECK(kicks == 1);
	if (rc == JOB_CANCEL_DONE) {
		CHECK(info.state == JOB_CANCELLED && !info.has_result);
		CHECK(r.calls == 1 && r.info.state == JOB_CANCELLED && !r.info.has_result);
		CHECK(SEQ(id, JOB_QUEUED, JOB_CANCELLED));
		CHECK(ctrs().cancelled == c0.cancelled + 1 && ctrs().done == c0.done);
	} else {
		bool stale = rc == JOB_CANCEL_ENDED && info.state != JOB_DONE;
		st->stale += stale;
		if (rc == JOB_CANCEL_ENDED && !(KNOWN_BUG_ENDED_STALE && stale))
			CHECK(info.state == JOB_DONE && info.has_result && info.result == want);
		if (rc == JOB_CANCEL_FINISHING)         /* the job as it runs, waited for */
			CHECK(info.state != JOB_CANCELLED && info.state != JOB_DONE &&
			      !info.has_result && waited);
		CHECK(r.calls == 1 && r.info.state == JOB_DONE && r.info.has_result &&
		      r.info.result == want);
		CHECK(after.calls == (waited ? 1 : 0));
		CHECK(!waited || (after.info.state == JOB_DONE && after.info.result == want));
		CHECK(SEQ(id, JOB_QUEUED, JOB_DONE));
		const struct change *d = last_change(id);
		CHECK(d && d->info.result == want && d->waiter_calls == waiter_calls);
		CHECK(ctrs().cancelled == c0.cancelled && ctrs().done == c0.done + 1);
	}
	/* Held at a point, the answer is known. */
	if (hold != RP_NONE)
		CHECK(at == (int)hold);
	if (hold == RP_CLAIMING || hold == RP_HELD)
		CHECK(rc == JOB_CANCEL_DONE);
	if (hold == RP_COUNTED || hold == RP_LAST_DEC || (hold == RP_CLOCK && !inside))
		CHECK(rc == JOB_CANCEL_FINISHING);
	if (hold == RP_RETURNED)
		CHECK(rc == JOB_CANCEL_ENDED);
	if (inside)
		CHECK(let_go_inside);
	kicks = 0;
	st->bad += check_failures != fails;
	return rc;
}

static void print_race(const char *what, const struct race_stats *st)
{
	printf("race %s: %d DELETEs: %d cancelled, %d finishing, %d ended (%d with a running "
	       "job's info, %d ends lost); the racer was: started %d, claiming %d, holding its "
	       "task %d, in its chunk %d, after the last count-down %d, reading the end time %d, "
	       "returned %d, without a claim %d; %d bad\n",
	       what, st->rc[0] + st->rc[1] + st->rc[2] + st->rc[3], st->rc[JOB_CANCEL_DONE],
	       st->rc[JOB_CANCEL_FINISHING], st->rc[JOB_CANCEL_ENDED], st->stale, st->lost,
	       st->at[RP_STARTED], st->at[RP_CLAIMING], st->at[RP_HELD], st->at[RP_COUNTED],
	       st->at[RP_LAST_DEC], st->at[RP_CLOCK], st->at[RP_RETURNED], st->at[RP_NO_CLAIM],
	       st->bad);
}

static void test_race_last_chunk(void)
{
	/* Two tasks of one chunk each (the BSP runs the first: the racer's
	 * chunk ends a task and the job), under both policies; and, under
	 * share, one task of a few chunks (the BSP runs all but the last:
	 * the racer's ends the task other cores began). */
	struct race_job two = { { .limit = 8000, .tasks = 2, .mode = JOB_REPEAT }, 1, 0 };
	struct race_job few = { { .limit = 30000, .tasks = 1, .mode = JOB_REPEAT }, 0, 0 };
	CHECK(chunks_for(0, two.spec.limit) == 1);
	few.bsp_chunks = chunks_for(0, few.spec.limit) - 1;
	CHECK(few.bsp_chunks >= 2);
	two.want = 2 * count_primes_below(two.spec.limit);
	few.want = count_primes_below(few.spec.limit);
	static const enum race_point holds[] = { RP_CLAIMING, RP_COUNTED, RP_LAST_DEC, RP_CLOCK,
						 RP_RETURNED };
	const int nholds = (int)(sizeof(holds) / sizeof(holds[0]));
	struct {
		const char *what;
		enum worktab_policy policy;
		const struct race_job *job;
		int random;
	} runs[] = {
		{ "share, 2 tasks", WORKTAB_SHARE, &two, 300 },
		{ "task, 2 tasks", WORKTAB_TASK, &two, 300 },
		{ "share, 1 task", WORKTAB_SHARE, &few, 200 },
	};
	unsigned seed = 2024;
	uint64_t t0 = mono_ns();
	for (unsigned k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
		struct race_stats st = { 0 };
		setup(runs[k].policy);
		for (int rep = 0; rep < 3; rep++) {
			/* Held at each point in turn: the DELETE lands there. */
			for (int h = 0; h < nholds; h++)
				race_once(runs[k].job, holds[h], false, false, 0, 0, seed++, &st);
			if (runs[k].policy == WORKTAB_TASK) {
				/* Between the task's claim and its first chunk's. */
				race_once(runs[k].job, RP_HELD, false, false, 0, 0, seed++, &st);
				for (int i = 0; i < 10; i++)
					race_once(runs[k].job, RP_HELD, false, true, 0, 0, seed++,
						  &st);
			}
			/* Held in the engine's finished, let go while the DELETE
			 * fills its answer: the job completes inside the DELETE. */
			int stale0 = st.stale;
			race_once(runs[k].job, RP_CLOCK, true, false, 0, 0, seed++, &st);
			if (KNOWN_BUG_ENDED_STALE)      /* fixed? set it to 0 */
				CHECK(st.stale == stale0 + 1);
		}
		/* At random points over the racer's way, slowed at random or
		 * not; the delays span its way as measured (with a late DELETE
		 * until it is, then from every race where it claimed). */
		uint64_t path[2] = { 0, 0 };
		for (int i = 0; i < runs[k].random; i++) {
			int slow = i % 2;
			uint64_t span = path[slow] + path[slow] / 4 + 1000;
			uint64_t delay = path[slow] ? (uint64_t)rand_r(&seed) % span : 2000000;
			race_once(runs[k].job, RP_NONE, false, false, delay, slow ? 20000 : 0, seed++,
				  &st);
			if (rp_path_ns && (!path[slow] || rp_path_ns < 4 * path[slow]))
				path[slow] = path[slow] ? (7 * path[slow] + rp_path_ns) / 8 : rp_path_ns;
		}
		printf("race %s: the racer's way took about %lu us, %lu us slowed\n", runs[k].what,
		       (unsigned long)path[0] / 1000, (unsigned long)path[1] / 1000);
		print_race(runs[k].what, &st);
		CHECK(st.bad == 0);
		check_idle();
	}
	printf("race: %.2f s\n", (double)(mono_ns() - t0) / 1e9);
}

int main(void)
{
	/* A hold or a cancel that never lands fails, not hangs. */
	alarm(60);
	test_spec_check();
	test_einval();
	test_repeat_states();
	test_results();
	test_list_order();
	test_busy();
	test_waiters();
	test_waiter_submits();
	test_heap_rule();
	test_cancel_queued();
	test_cancel_running();
	test_cancel_finishing();
	test_cancel_finished();
	test_unknown();
	test_cancel_task_policy();
	test_history();
	test_observers();
	test_reinit();
	test_race_last_chunk();

	/* Nothing left anywhere: LeakSanitizer sees every job freed. */
	jobs_init(&fake_plat);
	CHECK(job_allocs == job_frees);
	return CHECK_DONE("jobs");
}
