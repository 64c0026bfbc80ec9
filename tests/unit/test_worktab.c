/* test_worktab.c - the chunk claim and the turns (smp/worktab.c): the
 * rotation and the task policy on one thread, then a pthreads stress at
 * the real capacities: 64 jobs in flight, 1024-task jobs, more consumer
 * threads than this machine has cores, each descheduled at random
 * between its hazard and its claim, inside a chunk and between a chunk
 * and the next claim, while a producer adds jobs as slots free and
 * cancels some. Every chunk must run exactly once (or be withdrawn, for
 * a cancelled job), every job must finish once, with the exact sum. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static __thread unsigned race_seed;
static int race_on;
static void race_window(void)
{
	if (!__atomic_load_n(&race_on, __ATOMIC_RELAXED))
		return;
	unsigned r = rand_r(&race_seed) % 256;
	if (r == 0)
		usleep(30);
	else if (r < 16)
		sched_yield();
}
#define WORKTAB_RACE_WINDOW() race_window()
#include "../../smp/worktab.c"
#include "check.h"

#define NCORES 6                /* consumer threads: 3x this machine's cores */

struct tjob {
	uint32_t tasks;
	uint64_t per_task;              /* chunks of each task, when all are equal; else 0 */
	uint64_t *chunk_start, *task_left, *task_next;
	uint32_t *ran;                  /* per chunk: times run */
	uint64_t partial[NCORES];       /* per core result slot */
	uint64_t expect;                /* sum of (chunk + 1) over every chunk */
	int finished, all_ran;
	int slot;
	uint64_t withdrawn;
	struct work w;
};

static __thread int my_core;

static void tjob_run(void *owner, uint32_t t, uint64_t c)
{
	struct tjob *j = owner;
	uint64_t k = j->chunk_start[t] + c;
	__atomic_fetch_add(&j->ran[k], 1, __ATOMIC_RELAXED);
	j->partial[my_core] += k + 1;
	race_window();
}

static void tjob_finished(void *owner, bool all_ran)
{
	struct tjob *j = owner;
	j->all_ran = all_ran;
	__atomic_fetch_add(&j->finished, 1, __ATOMIC_RELEASE);
}

static struct tjob *tjob_new(uint32_t tasks, unsigned *seed)
{
	struct tjob *j = calloc(1, sizeof(*j));
	j->tasks = tasks;
	j->chunk_start = malloc((tasks + 1) * sizeof(uint64_t));
	j->task_left = malloc(tasks * sizeof(uint64_t));
	j->task_next = malloc(tasks * sizeof(uint64_t));
	j->chunk_start[0] = 0;
	for (uint32_t t = 0; t < tasks; t++)
		j->chunk_start[t + 1] = j->chunk_start[t] + 1 + (seed ? (uint32_t)rand_r(seed) % 4 : t % 3);
	if (seed && rand_r(seed) % 3 == 0) {     /* equal tasks: no table */
		uint64_t per = 1 + (uint32_t)rand_r(seed) % 4;
		for (uint32_t t = 0; t <= tasks; t++)
			j->chunk_start[t] = t * per;
		j->per_task = per;
	}
	uint64_t n = j->chunk_start[tasks];
	j->ran = calloc(n, sizeof(uint32_t));
	j->expect = n * (n + 1) / 2;
	j->w = (struct work){ .tasks = tasks,
			      .chunk_start = j->per_task ? NULL : j->chunk_start,
			      .per_task = j->per_task,
			      .task_left = j->task_left, .task_next = j->task_next,
			      .run = tjob_run,
			      .finished = tjob_finished, .owner = j };
	return j;
}

static void tjob_free(struct tjob *j)
{
	free(j->chunk_start);
	free(j->task_left);
	free(j->task_next);
	free(j->ran);
	free(j);
}

static uint64_t tjob_sum(const struct tjob *j)
{
	uint64_t s = 0;
	for (int c = 0; c < NCORES; c++)
		s += j->partial[c];
	return s;
}

static struct worktab wt;
static int hazards[NCORES];

/* ---- One thread: the turns. ---- */

/* Runs a claim to its end (under task, every chunk of its task): the
 * flags of the last run. */
static int run_claim(struct claim *cl)
{
	int r;
	while ((r = worktab_run(&wt, cl)) & WORKTAB_MORE)
		;
	return r;
}

static void test_rotation(void)
{
	worktab_init(&wt, hazards, NCORES, WORKTAB_SHARE);
	struct tjob *a = tjob_new(1, NULL), *b = tjob_new(4, NULL), *c = tjob_new(2, NULL);
	int sa = worktab_add(&wt, &a->w), sb = worktab_add(&wt, &b->w), sc = worktab_add(&wt, &c->w);
	CHECK(sa == 0 && sb == 1 && sc == 2);
	CHECK(worktab_has_work(&wt));
	CHECK(worktab_tasks_waiting(&wt) == 7);
	/* One core takes turns: a, b, c, a, b, c ... each job one chunk a turn. */
	int cursor = 0, order[64], n = 0;
	struct claim cl;
	while (n < 64 && worktab_claim(&wt, 0, &cursor, &cl)) {
		order[n++] = cl.slot;
		CHECK(!(worktab_run(&wt, &cl) & WORKTAB_MORE));
	}
	/* a has 1 chunk, b 1+2+3+1 = 7 (t % 3 + 1 for t = 0..3), c 1+2 = 3. */
	CHECK(n == 11);
	int want[] = { 0, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1 };
	for (int i = 0; i < 11; i++)
		CHECK(order[i] == want[i]);
	CHECK(a->finished == 1 && b->finished == 1 && c->finished == 1);
	CHECK(a->all_ran && b->all_ran && c->all_ran);
	CHECK(tjob_sum(a) == a->expect && tjob_sum(b) == b->expect && tjob_sum(c) == c->expect);
	CHECK(!worktab_has_work(&wt) && wt.used == 0 && worktab_tasks_waiting(&wt) == 0);
	/* A one-task job with many chunks: every core gets a chunk of it. */
	struct tjob *one = tjob_new(1, NULL);
	one->chunk_start[1] = NCORES;
	free(one->ran);
	one->ran = calloc(NCORES, sizeof(uint32_t));
	one->expect = NCORES * (NCORES + 1) / 2;
	CHECK(worktab_add(&wt, &one->w) == 0);
	struct claim held[NCORES];
	int curs[NCORES] = { 0 };
	for (int k = 0; k < NCORES; k++) {
		CHECK(worktab_claim(&wt, k, &curs[k], &held[k]));
		CHECK(held[k].task == 0 && held[k].chunk == (uint64_t)k);
	}
	CHECK(!worktab_claim(&wt, 0, &curs[0], &cl));
	CHECK(worktab_tasks_waiting(&wt) == 0);
	CHECK(worktab_withdraw(&wt, 0, one) == 0);   /* all claimed: it ends done */
	int ended = 0;
	for (int k = 0; k < NCORES; k++)
		ended += !!(worktab_run(&wt, &held[k]) & WORKTAB_JOB_ENDED);
	CHECK(ended == 1 && one->finished == 1 && one->all_ran && tjob_sum(one) == one->expect);
	/* Tasks of equal length need no table (chunk_start NULL): 3 tasks of
	 * 5 chunks; a withdraw inside task 1 takes the rest of it and task 2. */
	struct tjob *eq = tjob_new(3, NULL);
	for (uint32_t t = 0; t <= 3; t++)
		eq->chunk_start[t] = 5 * t;
	free(eq->ran);
	eq->ran = calloc(15, sizeof(uint32_t));
	eq->w.chunk_start = NULL;
	eq->w.per_task = 5;
	int s = worktab_add(&wt, &eq->w);
	CHECK(s >= 0);
	for (int k = 0; k < 7; k++) {
		CHECK(worktab_claim(&wt, 0, &cursor, &cl));
		CHECK(cl.task == (uint32_t)k / 5 && cl.chunk == (uint64_t)k % 5);
		if (k < 6)
			worktab_run(&wt, &cl);
	}
	CHECK(worktab_tasks_waiting(&wt) == 1);
	CHECK(worktab_withdraw(&wt, s, eq) == 8);   /* 3 of task 1, 5 of task 2 */
	CHECK(worktab_tasks_waiting(&wt) == 0 && !worktab_has_work(&wt));
	CHECK(eq->finished == 0);
	CHECK(worktab_run(&wt, &cl) == (WORKTAB_TASK_ENDED | WORKTAB_JOB_ENDED));
	CHECK(eq->finished == 1 && !eq->all_ran && tjob_sum(eq) == 7 * 8 / 2);
	/* A withdraw for a job that ended takes nothing, even from the job
	 * that holds its slot now. */
	struct tjob *next = tjob_new(2, NULL);
	CHECK(worktab_add(&wt, &next->w) == s);
	CHECK(worktab_withdraw(&wt, s, eq) == 0);
	CHECK(worktab_withdraw(&wt, 1, next) == 0);      /* a slot it never had */
	while (worktab_claim(&wt, 0, &cursor, &cl))
		worktab_run(&wt, &cl);
	CHECK(next->finished == 1 && next->all_ran && tjob_sum(next) == next->expect);
	tjob_free(next);
	tjob_free(a);
	tjob_free(b);
	tjob_free(c);
	tjob_free(one);
	tjob_free(eq);
}

static void test_task_policy(void)
{
	worktab_init(&wt, hazards, NCORES, WORKTAB_TASK);
	struct tjob *a = tjob_new(2, NULL), *b = tjob_new(3, NULL);
	worktab_add(&wt, &a->w);
	worktab_add(&wt, &b->w);
	int cursor = 0;
	struct claim cl;
	/* Whole tasks, oldest job first: a's 2 tasks, then b's 3, each task's
	 * chunks in order on the core that claimed it. */
	uint32_t want_task[] = { 0, 1, 0, 1, 2 };
	int want_slot[] = { 0, 0, 1, 1, 1 };
	for (int i = 0; i < 5; i++) {
		CHECK(worktab_claim(&wt, 0, &cursor, &cl));
		CHECK(cl.slot == want_slot[i] && cl.task == want_task[i] && cl.chunk == 0);
		struct tjob *j = cl.slot ? b : a;
		uint64_t n = j->chunk_start[cl.task + 1] - j->chunk_start[cl.task], runs = 1;
		int r;
		while ((r = worktab_run(&wt, &cl)) & WORKTAB_MORE) {
			CHECK(cl.chunk == runs);
			runs++;
		}
		CHECK(runs == n && (r & WORKTAB_TASK_ENDED));
	}
	CHECK(!worktab_claim(&wt, 0, &cursor, &cl));
	CHECK(a->finished == 1 && b->finished == 1 && tjob_sum(a) == a->expect &&
	      tjob_sum(b) == b->expect);
	/* Cancel inside a task: its chunks not yet claimed and the unclaimed
	 * tasks are withdrawn; the chunk being run ends the job. */
	struct tjob *c = tjob_new(4, NULL);     /* chunks 1, 2, 3, 1 */
	CHECK(worktab_add(&wt, &c->w) >= 0);
	CHECK(worktab_claim(&wt, 0, &cursor, &cl) && cl.task == 0);
	CHECK(run_claim(&cl) & WORKTAB_TASK_ENDED);
	CHECK(worktab_claim(&wt, 0, &cursor, &cl) && cl.task == 1 && cl.chunk == 0);
	CHECK(worktab_run(&wt, &cl) == WORKTAB_MORE && cl.chunk == 1);   /* holds chunk 1 of 2 */
	CHECK(worktab_tasks_waiting(&wt) == 2);
	uint64_t taken = worktab_withdraw(&wt, cl.slot, c);
	CHECK(taken == 3 + 1);                   /* all of tasks 2 and 3 */
	CHECK(c->finished == 0);
	CHECK(worktab_run(&wt, &cl) == (WORKTAB_TASK_ENDED | WORKTAB_JOB_ENDED));
	CHECK(c->finished == 1 && !c->all_ran);
	/* Two cores hold d's two tasks, each its first chunk, not yet run:
	 * the withdraw takes task 1's second chunk, nothing they hold. */
	struct tjob *d = tjob_new(2, NULL);     /* chunks 1, 2 */
	int s = worktab_add(&wt, &d->w);
	struct claim c0;
	CHECK(worktab_claim(&wt, 0, &cursor, &c0) && c0.task == 0 && c0.chunk == 0);
	CHECK(worktab_claim(&wt, 1, &cursor, &cl) && cl.task == 1 && cl.chunk == 0);
	CHECK(worktab_withdraw(&wt, s, d) == 1);
	CHECK(worktab_run(&wt, &cl) == WORKTAB_TASK_ENDED);
	CHECK(d->finished == 0);
	CHECK(worktab_run(&wt, &c0) == (WORKTAB_TASK_ENDED | WORKTAB_JOB_ENDED));
	CHECK(d->finished == 1 && !d->all_ran && tjob_sum(d) == 1 + 2);
	tjob_free(a);
	tjob_free(b);
	tjob_free(c);
	tjob_free(d);
}

/* ---- The stress. ---- */

#define STRESS_JOBS 1500
static volatile int stop;
static long chunks_run[NCORES];

static void *consumer(void *arg)
{
	my_core = (int)(intptr_t)arg;
	race_seed = 1234u + 77u * (unsigned)my_core;
	int cursor = 0;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		struct claim cl;
		if (!worktab_claim(&wt, my_core, &cursor, &cl)) {
			sched_yield();
			continue;
		}
		int r;
		do {
			race_window();          /* claimed, not yet run */
			r = worktab_run(&wt, &cl);
			chunks_run[my_core]++;
		} while (r & WORKTAB_MORE);
	}
	return NULL;
}

static void stress(enum worktab_policy policy)
{
	worktab_init(&wt, hazards, NCORES, policy);
	memset(chunks_run, 0, sizeof(chunks_run));
	__atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&race_on, 1, __ATOMIC_RELAXED);
	pthread_t th[NCORES];
	for (intptr_t c = 0; c < NCORES; c++)
		pthread_create(&th[c], NULL, consumer, (void *)c);
	/* Jobs added and not yet checked: a finished job's slot may hold a
	 * new job before the producer checks the old one. */
	struct tjob *live[2 * WORKTAB_SLOTS];
	int nlive = 0;
	unsigned seed = 99;
	long added = 0, checked = 0, cancelled = 0, cancel_late = 0, bad_runs = 0, bad_sums = 0;
	long bad_finish = 0, full_seen = 0;
	uint64_t expect_chunks = 0;
	time_t progress = time(NULL);
	long stuck = 0;         /* a job that never finished: the stress gave up */
	while (checked < STRESS_JOBS) {
		long was = checked;
		/* Retire finished jobs, checking each. */
		for (int i = 0; i < nlive; i++) {
			struct tjob *j = live[i];
			if (!__atomic_load_n(&j->finished, __ATOMIC_ACQUIRE))
				continue;
			uint64_t n = j->chunk_start[j->tasks], ran = 0;
			for (uint64_t k = 0; k < n; k++) {
				if (j->ran[k] > 1 || (!j->withdrawn && j->ran[k] != 1))
					bad_runs++;
				ran += j->ran[k];
			}
			if (j->finished != 1 || j->all_ran != !j->withdrawn)
				bad_finish++;
			if (j->withdrawn ? ran + j->withdrawn != n : tjob_sum(j) != j->expect)
				bad_sums++;
			expect_chunks += ran;
			tjob_free(j);
			live[i--] = live[--nlive];
			checked++;
		}
		/* Fill the table: 1024-task jobs mostly. */
		while (added < STRESS_JOBS && nlive < 2 * WORKTAB_SLOTS) {
			uint32_t tasks = rand_r(&seed) % 4 ? 1024 : 1 + (uint32_t)rand_r(&seed) % 64;
			struct tjob *j = tjob_new(tasks, &seed);
			int s = worktab_add(&wt, &j->w);
			if (s < 0) {
				full_seen++;
				tjob_free(j);
				break;
			}
			j->slot = s;
			live[nlive++] = j;
			added++;
		}
		/* Cancel one job in flight now and then, as the engine does: a
		 * job not seen finished still owns its slot (only this thread
		 * adds). */
		if (nlive && rand_r(&seed) % 128 == 0) {
			struct tjob *j = live[rand_r(&seed) % nlive];
			if (!__atomic_load_n(&j->finished, __ATOMIC_ACQUIRE) && !j->withdrawn) {
				j->withdrawn = worktab_withdraw(&wt, j->slot, j);
				if (j->withdrawn)
					cancelled++;
				else
					cancel_late++;
			}
		}
		if (checked != was) {
			progress = time(NULL);
		} else if (time(NULL) - progress > 20) {
			stuck = nlive;  /* their ends were lost: leak them, report */
			break;
		}
		sched_yield();
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int c = 0; c < NCORES; c++)
		pthread_join(th[c], NULL);
	__atomic_store_n(&race_on, 0, __ATOMIC_RELAXED);
	long total = 0, busy_cores = 0;
	for (int c = 0; c < NCORES; c++) {
		total += chunks_run[c];
		busy_cores += chunks_run[c] > 0;
	}
	printf("worktab %s: %ld jobs, %ld cancelled (%ld too late), table full %ld times, "
	       "%ld chunks, %ld of %d consumers ran chunks\n",
	       policy == WORKTAB_TASK ? "task" : "share", checked, cancelled, cancel_late,
	       full_seen, total, busy_cores, NCORES);
	CHECK(stuck == 0);
	if (stuck)
		fprintf(stderr, "  %ld jobs never finished in 20 s: an end was lost\n", stuck);
	CHECK(bad_runs == 0);
	CHECK(bad_sums == 0);
	CHECK(bad_finish == 0);
	CHECK((uint64_t)total == expect_chunks);
	CHECK(full_seen > 0);           /* the table really was at 64 jobs */
	CHECK(cancelled > 0);
	CHECK(busy_cores == NCORES);
	if (!stuck) {
		CHECK(wt.used == 0 && wt.active == 0);
		for (int c = 0; c < NCORES; c++)
			CHECK(hazards[c] == 0);
	}
}

int main(void)
{
	test_rotation();
	test_task_policy();
	stress(WORKTAB_SHARE);
	stress(WORKTAB_TASK);
	return CHECK_DONE("worktab");
}
