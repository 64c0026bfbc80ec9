/* test_jobs.c - the job engine on a fake environment: a clock the test
 * moves, a queue that only stores the submitted tasks (the test runs them
 * itself, on a core index it chooses), and counters for kick, yield and
 * the ended jobs. Covers results, states, elapsed times, the busy and
 * invalid refusals, cancelling queued, running and finished jobs, the
 * history bound, listing, a callback that submits, the heap rule,
 * re-init, and the state changes reported to env.on_change. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../appliance/jobs/jobs.h"
#include "check.h"

#define NCORES 4
#define QMAX   4096

/* ---- The fake environment. ---- */

static uint64_t now;                    /* the fake clock, in ns */
static struct task *queue[QMAX];
static int q_head, q_tail;              /* FIFO: run from head, push at tail */
static uint64_t q_cap = 1024;           /* what queue_room reports against */
static bool submit_refuses;             /* submit says no despite the room */
static int submit_calls;
static int core;                        /* what core_index returns */
static int kicks, yields;
static int ends;                        /* on_end calls */
static struct job_info last_end;
static uint64_t cancel_on_yield;        /* id jobs_cancel'd on the first yield; 0 none */
static int cancel_on_yield_rc = 99;
static struct job_info cancel_on_yield_before;

static uint64_t fake_now(void)
{
	return now;
}

static uint64_t depth(void)
{
	return (uint64_t)(q_tail - q_head);
}

static bool fake_submit(struct task **tasks, int n)
{
	submit_calls++;
	if (submit_refuses || depth() + (uint64_t)n > q_cap || q_tail + n > QMAX)
		return false;
	for (int i = 0; i < n; i++)
		queue[q_tail++] = tasks[i];     /* the array itself is the engine's */
	return true;
}

static uint64_t fake_queue_room(void)
{
	return q_cap > depth() ? q_cap - depth() : 0;
}

static int fake_core_index(void)
{
	return core;
}

static void fake_yield(void)
{
	yields++;
	if (cancel_on_yield && yields == 1) {
		CHECK(jobs_get(cancel_on_yield, &cancel_on_yield_before));
		cancel_on_yield_rc = jobs_cancel(cancel_on_yield, &cancel_on_yield_before);
	}
	if (cancel_on_yield && yields > 100000) {       /* the cancel did not stop the task */
		fprintf(stderr, "test_jobs: a cancelled task keeps running\n");
		exit(1);
	}
}

static void fake_kick(void)
{
	kicks++;
}

static void fake_on_end(const struct job_info *info)
{
	ends++;
	last_end = *info;
}

static const struct jobs_env fake_env = {
	.now_ns = fake_now,
	.submit = fake_submit,
	.queue_room = fake_queue_room,
	.core_index = fake_core_index,
	.ncores = NCORES,
	.yield = fake_yield,
	.kick = fake_kick,
	.on_end = fake_on_end,
};

/* Runs the next queued task on core c, after moving the clock by step. */
static bool run_one(int c, uint64_t step)
{
	if (q_head == q_tail)
		return false;
	struct task *t = queue[q_head++];
	if (q_head == q_tail)
		q_head = q_tail = 0;
	now += step;
	core = c;
	t->run(t);
	return true;
}

/* Runs every queued task, cycling over the cores. */
static int run_all(uint64_t step)
{
	int n = 0;
	while (run_one(n % NCORES, step))
		n++;
	return n;
}

static void reset_env(void)
{
	q_head = q_tail = 0;
	q_cap = 1024;
	submit_refuses = false;
	kicks = yields = ends = 0;
	core = 0;
	cancel_on_yield = 0;
}

/* ---- Done callbacks. ---- */

struct rec {
	int calls;
	struct job_info info;
};

static int done_count;                  /* on_done calls, all jobs */

static void on_done(const struct job_info *info, void *ctx)
{
	struct rec *r = ctx;
	done_count++;
	r->calls++;
	r->info = *info;
}

/* Submits a follow-up job from inside jobs_poll. */
struct resubmit {
	int calls;
	enum job_err err;
	uint64_t id;
	struct rec next;
};

static void on_done_resubmit(const struct job_info *info, void *ctx)
{
	(void)info;
	struct resubmit *r = ctx;
	r->calls++;
	struct job_spec s = { .limit = 1000, .tasks = 2, .mode = JOB_SPLIT };
	r->err = jobs_submit(&s, now, on_done, &r->next, &r->id);
}

/* ---- jobs_list collection. ---- */

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

static struct job_counters counters(void)
{
	struct job_counters c;
	jobs_counters(&c);
	return c;
}

static void drain(void)
{
	run_all(10);
	jobs_poll();
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
}

static void test_einval(void)
{
	struct job_counters before = counters();
	struct job_spec bad[] = {
		{ .limit = JOBS_LIMIT_MAX + 1, .tasks = 1, .mode = JOB_REPEAT },
		{ .limit = 100, .tasks = 0, .mode = JOB_REPEAT },
		{ .limit = 100, .tasks = JOBS_TASKS_MAX + 1, .mode = JOB_SPLIT },
		{ .limit = 100, .tasks = 1, .mode = (enum job_mode)7 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rec r = { 0 };
		uint64_t id = 12345;
		int calls = submit_calls;
		CHECK(jobs_submit(&bad[i], now, on_done, &r, &id) == JOB_EINVAL);
		CHECK(id == 12345);
		CHECK(submit_calls == calls);
		CHECK(depth() == 0);
		jobs_poll();
		CHECK(r.calls == 0);
	}
	struct job_counters after = counters();
	CHECK(after.accepted == before.accepted);
	/* A protocol error: the endpoints count it, the engine does not. */
	CHECK(after.rejected == before.rejected);
	CHECK(after.running == 0);
}

/* Repeat mode 1000000 x 3: the states as the tasks run one by one, the
 * kick at the last task only, the callback at jobs_poll only. */
static uint64_t test_repeat_done(void)
{
	struct job_counters c0 = counters();
	struct rec r = { 0 };
	struct job_spec s = { .limit = 1000000, .tasks = 3, .mode = JOB_REPEAT };
	uint64_t id = 0, t0 = now;
	CHECK(jobs_submit(&s, t0, on_done, &r, &id) == JOB_OK);
	CHECK(id != 0);
	CHECK(depth() == 3);
	struct job_counters c1 = counters();
	CHECK(c1.accepted == c0.accepted + 1);
	CHECK(c1.running == 1);

	struct job_info info;
	now += 500;
	CHECK(jobs_get(id, &info));
	CHECK(info.id == id && info.state == JOB_QUEUED && !info.has_result);
	CHECK(info.submitted_ns == t0 && info.elapsed_ns == 500);
	CHECK(info.spec.limit == 1000000 && info.spec.tasks == 3 && info.spec.mode == JOB_REPEAT);

	CHECK(run_one(2, 1000));
	CHECK(kicks == 0);
	CHECK(jobs_get(id, &info) && info.state == JOB_RUNNING && !info.has_result);
	CHECK(run_one(0, 1000));
	CHECK(kicks == 0);
	jobs_poll();                    /* not complete: nothing happens */
	CHECK(r.calls == 0 && ends == 0);
	CHECK(jobs_get(id, &info) && info.state == JOB_RUNNING);
	CHECK(run_one(3, 1000));
	CHECK(kicks == 1);
	uint64_t t_end = now;
	now += 7777;                    /* the poll comes later */
	/* Finished, not yet polled: done already, with its result. */
	CHECK(jobs_get(id, &info));
	CHECK(info.state == JOB_DONE && info.has_result && info.result == 3 * 78498);
	CHECK(info.elapsed_ns == t_end - t0);
	CHECK(r.calls == 0);

	jobs_poll();
	CHECK(r.calls == 1 && ends == 1);
	CHECK(r.info.id == id && r.info.state == JOB_DONE);
	CHECK(r.info.has_result && r.info.result == 3 * 78498);
	CHECK(r.info.elapsed_ns == t_end - t0 && r.info.elapsed_ns == 3500);
	CHECK(r.info.submitted_ns == t0);
	CHECK(last_end.id == id && last_end.result == 3 * 78498);
	jobs_poll();                    /* exactly once */
	CHECK(r.calls == 1 && ends == 1);
	CHECK(kicks == 1);

	struct job_counters c2 = counters();
	CHECK(c2.done == c0.done + 1);
	CHECK(c2.accepted == c0.accepted + 1);
	CHECK(c2.cancelled == c0.cancelled);
	CHECK(c2.running == 0);
	CHECK(jobs_get(id, &info));     /* now from the history */
	CHECK(info.state == JOB_DONE && info.result == 3 * 78498 && info.elapsed_ns == 3500);
	return id;
}

/* Split mode 1000000 in 7 tasks on varied cores: the per-core slots sum
 * to the whole count. */
static uint64_t test_split_done(uint64_t prev_id)
{
	struct job_counters c0 = counters();
	struct rec r = { 0 };
	struct job_spec s = { .limit = 1000000, .tasks = 7, .mode = JOB_SPLIT };
	uint64_t id = 0, t0 = now;
	int k0 = kicks;
	CHECK(jobs_submit(&s, t0, on_done, &r, &id) == JOB_OK);
	CHECK(id == prev_id + 1);
	CHECK(depth() == 7);
	int cores[7] = { 1, 1, 3, 0, 2, 3, 1 };
	for (int i = 0; i < 7; i++) {
		CHECK(kicks == k0);
		CHECK(run_one(cores[i], 100 + (uint64_t)i));
	}
	CHECK(kicks == k0 + 1);
	uint64_t elapsed = now - t0;
	CHECK(elapsed == 7 * 100 + 21);
	now += 1;
	jobs_poll();
	CHECK(r.calls == 1);
	CHECK(r.info.state == JOB_DONE && r.info.has_result && r.info.result == 78498);
	CHECK(r.info.elapsed_ns == elapsed);
	struct job_counters c1 = counters();
	CHECK(c1.accepted == c0.accepted + 1 && c1.done == c0.done + 1 && c1.running == 0);

	/* Everything on one core, and a limit-0 job: 0 primes, still a result. */
	struct rec r2 = { 0 }, r3 = { 0 };
	uint64_t id2, id3;
	s.limit = 100000;
	s.tasks = 5;
	CHECK(jobs_submit(&s, now, on_done, &r2, &id2) == JOB_OK);
	struct job_spec z = { .limit = 0, .tasks = 2, .mode = JOB_REPEAT };
	CHECK(jobs_submit(&z, now, on_done, &r3, &id3) == JOB_OK);
	CHECK(id2 == id + 1 && id3 == id + 2);
	while (run_one(2, 1))
		;
	jobs_poll();
	CHECK(r2.calls == 1 && r2.info.result == 9592 && r2.info.has_result);
	CHECK(r3.calls == 1 && r3.info.result == 0 && r3.info.has_result && r3.info.state == JOB_DONE);
	return id3;
}

static void test_list_order(uint64_t newest_done)
{
	/* Two finished jobs (newest_done and the one before) in the history,
	 * and now two in flight: all four newest first. */
	struct rec r1 = { 0 }, r2 = { 0 };
	struct job_spec s = { .limit = 100, .tasks = 1, .mode = JOB_REPEAT };
	uint64_t a, b;
	CHECK(jobs_submit(&s, now, on_done, &r1, &a) == JOB_OK);
	CHECK(jobs_submit(&s, now, on_done, &r2, &b) == JOB_OK);
	CHECK(a == newest_done + 1 && b == newest_done + 2);
	CHECK(run_one(0, 1));           /* a finishes, not polled */
	struct listing l = { 0 };
	jobs_list(4, collect, &l);
	CHECK(l.n == 4);
	CHECK(l.ids[0] == b && l.states[0] == JOB_QUEUED);
	CHECK(l.ids[1] == a && l.states[1] == JOB_DONE);
	CHECK(l.ids[2] == newest_done && l.states[2] == JOB_DONE);
	CHECK(l.ids[3] == newest_done - 1);
	memset(&l, 0, sizeof(l));
	jobs_list(1, collect, &l);
	CHECK(l.n == 1 && l.ids[0] == b);
	memset(&l, 0, sizeof(l));
	jobs_list(0, collect, &l);
	CHECK(l.n == 0);
	/* Finish b before a is polled: the history is in finishing order, the
	 * listing still by id. */
	CHECK(run_one(1, 1));
	jobs_poll();
	CHECK(r1.calls == 1 && r2.calls == 1);
	memset(&l, 0, sizeof(l));
	jobs_list(1000, collect, &l);
	CHECK(l.n >= 4);
	for (int i = 1; i < l.n && i < 64; i++)
		CHECK(l.ids[i] < l.ids[i - 1]);
	CHECK(l.ids[0] == b && l.ids[1] == a);
}

static void test_busy(void)
{
	struct job_spec s = { .limit = 100, .tasks = 8, .mode = JOB_SPLIT };
	struct rec r = { 0 };
	uint64_t id = 777;

	/* No room for all the tasks. */
	q_cap = 7;
	struct job_counters c0 = counters();
	int calls = submit_calls;
	CHECK(jobs_submit(&s, now, on_done, &r, &id) == JOB_EBUSY);
	CHECK(id == 777);
	CHECK(submit_calls == calls);   /* refused before the queue was touched */
	CHECK(depth() == 0);
	struct job_counters c1 = counters();
	CHECK(c1.rejected == c0.rejected + 1);
	CHECK(c1.accepted == c0.accepted && c1.running == 0);
	/* Exactly enough room is fine. */
	q_cap = 8;
	CHECK(jobs_submit(&s, now, on_done, &r, &id) == JOB_OK);
	CHECK(depth() == 8);
	drain();
	CHECK(r.calls == 1 && r.info.result == 25);
	q_cap = 1024;

	/* 64 jobs in flight: the 65th is refused, even once they all finished,
	 * until jobs_poll freed their slots. */
	static struct rec rs[JOBS_MAX_INFLIGHT + 1];
	memset(rs, 0, sizeof(rs));
	uint64_t ids[JOBS_MAX_INFLIGHT];
	s.tasks = 1;
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++)
		CHECK(jobs_submit(&s, now, on_done, &rs[i], &ids[i]) == JOB_OK);
	for (int i = 1; i < JOBS_MAX_INFLIGHT; i++)
		CHECK(ids[i] == ids[i - 1] + 1);
	CHECK(counters().running == JOBS_MAX_INFLIGHT);
	c0 = counters();
	uint64_t extra = 0;
	CHECK(jobs_submit(&s, now, on_done, &rs[64], &extra) == JOB_EBUSY);
	CHECK(depth() == JOBS_MAX_INFLIGHT);
	CHECK(counters().rejected == c0.rejected + 1);
	int k0 = kicks;
	CHECK(run_all(3) == JOBS_MAX_INFLIGHT);
	CHECK(kicks == k0 + JOBS_MAX_INFLIGHT);
	CHECK(jobs_submit(&s, now, on_done, &rs[64], &extra) == JOB_EBUSY);
	CHECK(counters().rejected == c0.rejected + 2);
	jobs_poll();
	int all_once = 1;
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++)
		if (rs[i].calls != 1 || rs[i].info.id != ids[i] || rs[i].info.result != 25)
			all_once = 0;
	CHECK(all_once);
	CHECK(counters().running == 0);
	CHECK(jobs_submit(&s, now, on_done, &rs[64], &extra) == JOB_OK);
	CHECK(extra == ids[63] + 1);    /* refusals use up no id */
	drain();
	CHECK(rs[64].calls == 1 && rs[64].info.result == 25);

	/* The queue refuses although queue_room said yes: busy, nothing kept
	 * (LeakSanitizer checks the tasks were freed), no id used. */
	uint64_t before_id;
	CHECK(jobs_submit(&s, now, NULL, NULL, &before_id) == JOB_OK);
	drain();
	submit_refuses = true;
	c0 = counters();
	calls = submit_calls;
	struct rec rr = { 0 };
	s.tasks = 16;
	id = 777;
	CHECK(jobs_submit(&s, now, on_done, &rr, &id) == JOB_EBUSY);
	CHECK(submit_calls == calls + 1);
	CHECK(id == 777);
	c1 = counters();
	CHECK(c1.rejected == c0.rejected + 1 && c1.accepted == c0.accepted && c1.running == 0);
	CHECK(depth() == 0);
	struct job_info info;
	CHECK(!jobs_get(before_id + 1, &info));
	jobs_poll();
	CHECK(rr.calls == 0);
	submit_refuses = false;
	CHECK(jobs_submit(&s, now, on_done, &rr, &id) == JOB_OK);
	CHECK(id == before_id + 1);
	drain();
	CHECK(rr.calls == 1 && rr.info.result == 25);
}

static void test_cancel_queued(void)
{
	struct job_counters c0 = counters();
	struct rec r = { 0 };
	/* Costly if it ran: a task that did any work would yield. */
	struct job_spec s = { .limit = 1000000, .tasks = 4, .mode = JOB_REPEAT };
	uint64_t id, t0 = now;
	CHECK(jobs_submit(&s, t0, on_done, &r, &id) == JOB_OK);
	now += 50;
	struct job_info info;
	memset(&info, 0, sizeof(info));
	CHECK(jobs_cancel(id, &info) == 0);
	CHECK(info.id == id && info.state == JOB_CANCELLED && !info.has_result);
	CHECK(jobs_get(id, &info) && info.state == JOB_CANCELLED);
	CHECK(jobs_cancel(id, &info) == 1);    /* the second time */
	CHECK(info.state == JOB_CANCELLED);
	CHECK(r.calls == 0);
	int y0 = yields, k0 = kicks;
	CHECK(run_one(1, 10));
	CHECK(run_one(2, 10));
	CHECK(run_one(3, 10));
	CHECK(kicks == k0);
	CHECK(run_one(0, 10));
	CHECK(yields == y0);            /* no work done */
	CHECK(kicks == k0 + 1);
	uint64_t t_end = now;
	/* Drained, not polled: still cancelled, still no callback. */
	CHECK(jobs_cancel(id, &info) == 1);
	CHECK(info.state == JOB_CANCELLED && !info.has_result);
	CHECK(info.elapsed_ns == t_end - t0);
	CHECK(r.calls == 0);
	now += 5;
	jobs_poll();
	CHECK(r.calls == 1);
	CHECK(r.info.id == id && r.info.state == JOB_CANCELLED && !r.info.has_result);
	CHECK(r.info.elapsed_ns == t_end - t0);
	CHECK(last_end.id == id && last_end.state == JOB_CANCELLED);
	struct job_counters c1 = counters();
	CHECK(c1.cancelled == c0.cancelled + 1);
	CHECK(c1.done == c0.done);
	CHECK(c1.accepted == c0.accepted + 1);
	CHECK(c1.running == 0);
	CHECK(jobs_cancel(id, &info) == 1);    /* from the history */
	CHECK(info.id == id && info.state == JOB_CANCELLED && !info.has_result);
	jobs_poll();
	CHECK(r.calls == 1);
}

/* The yield fake cancels the job on the first yield of its first task,
 * whose limit would otherwise take hours. */
static void test_cancel_running(void)
{
	struct job_counters c0 = counters();
	struct rec r = { 0 };
	struct job_spec s = { .limit = JOBS_LIMIT_MAX, .tasks = 3, .mode = JOB_REPEAT };
	uint64_t id, t0 = now;
	CHECK(jobs_submit(&s, t0, on_done, &r, &id) == JOB_OK);
	yields = 0;
	cancel_on_yield = id;
	cancel_on_yield_rc = 99;
	CHECK(run_one(2, 100));
	CHECK(cancel_on_yield_rc == 0);
	CHECK(yields == 1);             /* stopped at the first check */
	CHECK(cancel_on_yield_before.state == JOB_CANCELLED);
	struct job_info info;
	CHECK(jobs_get(id, &info) && info.state == JOB_CANCELLED);
	CHECK(run_one(0, 100));
	CHECK(run_one(1, 100));
	CHECK(yields == 1);             /* the other two did nothing */
	cancel_on_yield = 0;
	jobs_poll();
	CHECK(r.calls == 1);
	CHECK(r.info.state == JOB_CANCELLED && !r.info.has_result);
	CHECK(r.info.elapsed_ns == now - t0);
	CHECK(counters().cancelled == c0.cancelled + 1);

	/* Split mode, cancelled while its middle task runs: the two tasks
	 * that ran before keep their counts, the job is still cancelled. */
	struct rec r2 = { 0 };
	s.tasks = 3;
	s.mode = JOB_SPLIT;
	s.limit = 1ULL << 36;
	CHECK(jobs_submit(&s, now, on_done, &r2, &id) == JOB_OK);
	yields = 0;
	/* The first split range is long too: cancel there. */
	cancel_on_yield = id;
	cancel_on_yield_rc = 99;
	CHECK(run_one(1, 1));
	CHECK(yields == 1 && cancel_on_yield_rc == 0);
	cancel_on_yield = 0;
	drain();
	CHECK(yields == 1);
	CHECK(r2.calls == 1 && r2.info.state == JOB_CANCELLED && !r2.info.has_result);
}

/* Finished but not polled: jobs_cancel says it ended, done, and calls
 * no callback; the poll then files it as done. */
static void test_cancel_finished(void)
{
	struct job_counters c0 = counters();
	struct rec r = { 0 };
	struct job_spec s = { .limit = 100000, .tasks = 2, .mode = JOB_SPLIT };
	uint64_t id, t0 = now;
	CHECK(jobs_submit(&s, t0, on_done, &r, &id) == JOB_OK);
	CHECK(run_one(3, 40));
	CHECK(run_one(1, 60));
	struct job_info info;
	memset(&info, 0, sizeof(info));
	CHECK(jobs_cancel(id, &info) == 1);
	CHECK(info.id == id && info.state == JOB_DONE && info.has_result && info.result == 9592);
	CHECK(info.elapsed_ns == 100);
	CHECK(r.calls == 0 && ends == 0);
	CHECK(jobs_get(id, &info) && info.state == JOB_DONE && info.result == 9592);
	jobs_poll();
	CHECK(r.calls == 1 && r.info.state == JOB_DONE && r.info.result == 9592);
	CHECK(ends == 1);
	struct job_counters c1 = counters();
	CHECK(c1.done == c0.done + 1 && c1.cancelled == c0.cancelled);
	CHECK(jobs_cancel(id, &info) == 1 && info.state == JOB_DONE && info.result == 9592);
}

static void test_unknown(void)
{
	struct job_info info;
	CHECK(jobs_cancel(999999, &info) == -1);
	CHECK(!jobs_get(999999, &info));
	CHECK(jobs_cancel(0, &info) == -1);
	CHECK(!jobs_get(0, &info));
}

static void test_history(void)
{
	const int n = JOBS_HISTORY + 44;
	struct job_spec s = { .limit = 30, .tasks = 1, .mode = JOB_REPEAT };
	uint64_t first = 0, id = 0;
	for (int i = 0; i < n; i++) {
		CHECK(jobs_submit(&s, now, NULL, NULL, &id) == JOB_OK);
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
	CHECK(jobs_cancel(first, &info) == -1);
	CHECK(jobs_cancel(id - JOBS_HISTORY, &info) == -1);
	CHECK(jobs_cancel(id - JOBS_HISTORY + 1, &info) == 1);

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
	CHECK(jobs_submit(&s, now, NULL, NULL, &a) == JOB_OK);
	CHECK(jobs_submit(&s, now, NULL, NULL, &b) == JOB_OK);
	memset(&l, 0, sizeof(l));
	jobs_list(100000, collect, &l);
	CHECK(l.n == JOBS_HISTORY + 2);
	CHECK(l.ids[0] == b && l.ids[1] == a && l.ids[2] == id);
	drain();
}

/* The slot is free before the callback runs: with all 64 slots taken, a
 * callback can still submit. */
static void test_callback_submits(void)
{
	struct resubmit rs = { 0 };
	static struct rec others[JOBS_MAX_INFLIGHT];
	memset(others, 0, sizeof(others));
	struct job_spec s = { .limit = 100, .tasks = 1, .mode = JOB_REPEAT };
	uint64_t first;
	CHECK(jobs_submit(&s, now, on_done_resubmit, &rs, &first) == JOB_OK);
	for (int i = 1; i < JOBS_MAX_INFLIGHT; i++)
		CHECK(jobs_submit(&s, now, on_done, &others[i], NULL) == JOB_OK);
	CHECK(counters().running == JOBS_MAX_INFLIGHT);
	run_all(1);
	jobs_poll();
	CHECK(rs.calls == 1);
	CHECK(rs.err == JOB_OK);
	CHECK(rs.id == first + JOBS_MAX_INFLIGHT);
	CHECK(counters().running == 1);
	CHECK(rs.next.calls == 0);
	struct job_info info;
	CHECK(jobs_get(rs.id, &info) && info.state == JOB_QUEUED && info.spec.tasks == 2);
	CHECK(depth() == 2);
	drain();
	CHECK(rs.next.calls == 1 && rs.next.info.result == 168);
	CHECK(rs.calls == 1);
	CHECK(counters().running == 0);
}

/* The heap rule (jobs.h, JOBS_HEAP_RESERVE): a job whose allocations
 * would leave less than the reserve free is refused busy, before anything
 * is allocated or queued; one that leaves exactly the reserve runs. */
static size_t mem_free_now;
static int mem_free_calls;

static size_t fake_mem_free(void)
{
	mem_free_calls++;
	return mem_free_now;
}

static void test_heap_rule(void)
{
	struct jobs_env e = fake_env;
	e.mem_free = fake_mem_free;
	jobs_init(&e);
	mem_free_now = (size_t)1 << 40;

	struct job_spec big = { .limit = 100, .tasks = JOBS_TASKS_MAX, .mode = JOB_SPLIT };
	struct job_spec big_repeat = { .limit = 100, .tasks = JOBS_TASKS_MAX, .mode = JOB_REPEAT };
	struct job_spec small = { .limit = 100, .tasks = 1, .mode = JOB_REPEAT };
	size_t need = jobs_mem_need(&big);
	/* At least what the tasks, the queue's array and the bounds take. */
	CHECK(need >= JOBS_TASKS_MAX * (3 * sizeof(uint64_t) + 2 * sizeof(void *)) +
		      (JOBS_TASKS_MAX + 1) * sizeof(uint64_t));
	CHECK(jobs_mem_need(&big_repeat) < need);
	CHECK(jobs_mem_need(&small) < jobs_mem_need(&big_repeat));
	CHECK(jobs_mem_need(&small) < 1024);

	/* One byte short: busy, counted as rejected, the queue untouched. */
	mem_free_now = need + JOBS_HEAP_RESERVE - 1;
	struct job_counters c0 = counters();
	int calls = submit_calls, asked = mem_free_calls;
	uint64_t id = 777;
	struct rec r = { 0 };
	CHECK(jobs_submit(&big, now, on_done, &r, &id) == JOB_EBUSY);
	CHECK(mem_free_calls > asked);
	CHECK(id == 777 && submit_calls == calls && depth() == 0);
	struct job_counters c1 = counters();
	CHECK(c1.rejected == c0.rejected + 1 && c1.accepted == c0.accepted && c1.running == 0);
	/* A small job still fits where the big one did not. */
	struct rec rs = { 0 };
	CHECK(jobs_submit(&small, now, on_done, &rs, &id) == JOB_OK);
	drain();
	CHECK(rs.calls == 1 && rs.info.result == 25);
	/* Exactly the reserve left: accepted, and it runs. */
	mem_free_now = need + JOBS_HEAP_RESERVE;
	CHECK(jobs_submit(&big, now, on_done, &r, &id) == JOB_OK);
	CHECK(depth() == JOBS_TASKS_MAX);
	drain();
	CHECK(r.calls == 1 && r.info.result == 25);
	/* Below the reserve nothing is accepted, however small. */
	mem_free_now = JOBS_HEAP_RESERVE - 1;
	c0 = counters();
	CHECK(jobs_submit(&small, now, on_done, &rs, &id) == JOB_EBUSY);
	CHECK(counters().rejected == c0.rejected + 1 && depth() == 0);
	CHECK(rs.calls == 1);
	mem_free_now = (size_t)1 << 40;
}

static void test_reinit(void)
{
	/* Leave a job in flight (queued, not run) and one finished. */
	struct job_spec s = { .limit = 100, .tasks = 2, .mode = JOB_REPEAT };
	uint64_t a, b;
	CHECK(jobs_submit(&s, now, NULL, NULL, &a) == JOB_OK);
	drain();
	CHECK(jobs_submit(&s, now, NULL, NULL, &b) == JOB_OK);
	CHECK(a > 1 && b == a + 1);
	/* The queue is the caller's: drop its tasks before the engine frees them. */
	q_head = q_tail = 0;
	jobs_init(&fake_env);
	struct job_counters c = counters();
	CHECK(c.accepted == 0 && c.done == 0 && c.cancelled == 0 && c.rejected == 0 && c.running == 0);
	struct job_info info;
	CHECK(!jobs_get(a, &info) && !jobs_get(b, &info));
	struct listing l = { 0 };
	jobs_list(100, collect, &l);
	CHECK(l.n == 0);
	struct rec r = { 0 };
	uint64_t id = 0;
	CHECK(jobs_submit(&s, now, on_done, &r, &id) == JOB_OK);
	CHECK(id == 1);
	drain();
	CHECK(r.calls == 1 && r.info.id == 1 && r.info.result == 50);
	c = counters();
	CHECK(c.accepted == 1 && c.done == 1 && c.running == 0);
}

/* ---- State changes (env.on_change). ---- */

/* Every on_change call, with the done callbacks (on_done) and on_end
 * calls made before it, so that the tests see the order. */
#define CHANGES_MAX 256

struct change {
	struct job_info info;
	int done_calls;         /* done callbacks of the engine before this call */
	int ends;               /* on_end calls before this call */
};

static struct change changes[CHANGES_MAX];
static int nchanges;

static void fake_on_change(const struct job_info *info)
{
	if (nchanges < CHANGES_MAX)
		changes[nchanges] = (struct change){ *info, done_count, ends };
	nchanges++;
}

static struct jobs_env change_env(void)
{
	struct jobs_env e = fake_env;
	e.on_change = fake_on_change;
	return e;
}

/* The states reported for job id, in order; their number. */
static int changes_of(uint64_t id, enum job_state *states, int max)
{
	int n = 0;
	for (int i = 0; i < nchanges && i < CHANGES_MAX; i++)
		if (changes[i].info.id == id) {
			if (n < max)
				states[n] = changes[i].info.state;
			n++;
		}
	return n;
}

/* Job id was reported with exactly these states, in this order. */
static bool seq_is(uint64_t id, int n, const enum job_state *want)
{
	enum job_state got[8];
	int k = changes_of(id, got, 8);
	if (k != n)
		return false;
	for (int i = 0; i < n; i++)
		if (got[i] != want[i])
			return false;
	return true;
}

#define SEQ(id, ...) \
	seq_is(id, (int)(sizeof((enum job_state[]){ __VA_ARGS__ }) / sizeof(enum job_state)), \
	       (enum job_state[]){ __VA_ARGS__ })

/* A job polled between its tasks: queued at submit, running once however
 * often jobs_poll runs, done after the done callback and before on_end;
 * each report with the job's id and spec, the result only when done. */
static void test_change_run(void)
{
	struct job_spec s = { .limit = 1000, .tasks = 3, .mode = JOB_REPEAT };
	struct rec r = { 0 };
	uint64_t id, t0 = now - 40;     /* the request came a little earlier */
	int n0 = nchanges;
	CHECK(jobs_submit(&s, t0, on_done, &r, &id) == JOB_OK);
	CHECK(nchanges == n0 + 1);
	const struct job_info *q = &changes[n0].info;
	CHECK(q->id == id && q->state == JOB_QUEUED && !q->has_result);
	CHECK(q->spec.limit == 1000 && q->spec.tasks == 3 && q->spec.mode == JOB_REPEAT);
	CHECK(q->submitted_ns == t0);
	for (int i = 0; i < 5; i++)
		jobs_poll();            /* queued: nothing to report */
	CHECK(nchanges == n0 + 1);

	CHECK(run_one(1, 100));
	CHECK(nchanges == n0 + 1);      /* the BSP sees it at jobs_poll */
	jobs_poll();
	CHECK(nchanges == n0 + 2);
	const struct job_info *ru = &changes[n0 + 1].info;
	CHECK(ru->id == id && ru->state == JOB_RUNNING && !ru->has_result);
	CHECK(ru->spec.limit == 1000 && ru->spec.tasks == 3 && ru->submitted_ns == t0);
	CHECK(ru->elapsed_ns == now - t0);
	for (int i = 0; i < 10; i++)
		jobs_poll();
	CHECK(run_one(2, 100));
	for (int i = 0; i < 10; i++)
		jobs_poll();
	CHECK(nchanges == n0 + 2);      /* running once */
	CHECK(run_one(3, 100));
	uint64_t t_end = now;
	CHECK(nchanges == n0 + 2 && r.calls == 0);
	now += 1000;
	int d0 = done_count, e0 = ends;
	jobs_poll();
	CHECK(r.calls == 1 && nchanges == n0 + 3);
	const struct change *dn = &changes[n0 + 2];
	CHECK(dn->info.id == id && dn->info.state == JOB_DONE);
	CHECK(dn->info.has_result && dn->info.result == 3 * 168);
	CHECK(dn->info.spec.limit == 1000 && dn->info.spec.tasks == 3);
	CHECK(dn->info.submitted_ns == t0 && dn->info.elapsed_ns == t_end - t0);
	CHECK(dn->done_calls == d0 + 1);        /* after the done callback */
	CHECK(dn->ends == e0);                  /* before on_end */
	CHECK(ends == e0 + 1);
	for (int i = 0; i < 5; i++)
		jobs_poll();
	CHECK(nchanges == n0 + 3);
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING, JOB_DONE));

	/* Split mode, no done callback: the same three. */
	struct job_spec sp = { .limit = 100000, .tasks = 4, .mode = JOB_SPLIT };
	CHECK(jobs_submit(&sp, now, NULL, NULL, &id) == JOB_OK);
	CHECK(run_one(0, 1));
	jobs_poll();
	drain();
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING, JOB_DONE));
	CHECK(changes[nchanges - 1].info.result == 9592);
	CHECK(changes[nchanges - 1].info.spec.mode == JOB_SPLIT);
}

/* A job that ended between two polls never shows as running. */
static void test_change_skip_running(void)
{
	struct job_spec s = { .limit = 100, .tasks = 2, .mode = JOB_REPEAT };
	struct rec r = { 0 };
	uint64_t id;
	int n0 = nchanges;
	CHECK(jobs_submit(&s, now, on_done, &r, &id) == JOB_OK);
	jobs_poll();
	CHECK(run_one(0, 10));
	CHECK(run_one(1, 10));
	jobs_poll();
	CHECK(r.calls == 1 && nchanges == n0 + 2);
	CHECK(SEQ(id, JOB_QUEUED, JOB_DONE));
	CHECK(changes[n0 + 1].info.has_result && changes[n0 + 1].info.result == 50);
	jobs_poll();
	CHECK(nchanges == n0 + 2);

	/* Two jobs side by side: each has its own sequence. */
	uint64_t a, b;
	CHECK(jobs_submit(&s, now, NULL, NULL, &a) == JOB_OK);
	CHECK(jobs_submit(&s, now, NULL, NULL, &b) == JOB_OK);
	CHECK(run_one(0, 10));          /* a starts */
	jobs_poll();
	CHECK(run_one(1, 10));          /* a ends */
	CHECK(run_one(2, 10));          /* b starts */
	CHECK(run_one(3, 10));          /* b ends, both between two polls */
	jobs_poll();
	CHECK(SEQ(a, JOB_QUEUED, JOB_RUNNING, JOB_DONE));
	CHECK(SEQ(b, JOB_QUEUED, JOB_DONE));
}

/* Cancelled while queued: reported once, by jobs_cancel; not again when
 * its tasks drained and jobs_poll ended it (the done callback still runs),
 * nor by a second cancel. */
static void test_change_cancel_queued(void)
{
	struct job_spec s = { .limit = 1000000, .tasks = 3, .mode = JOB_SPLIT };
	struct rec r = { 0 };
	uint64_t id, t0 = now;
	int n0 = nchanges;
	CHECK(jobs_submit(&s, t0, on_done, &r, &id) == JOB_OK);
	now += 70;
	struct job_info info;
	CHECK(jobs_cancel(id, &info) == 0);
	CHECK(nchanges == n0 + 2);
	const struct job_info *c = &changes[n0 + 1].info;
	CHECK(c->id == id && c->state == JOB_CANCELLED && !c->has_result);
	CHECK(c->spec.limit == 1000000 && c->spec.tasks == 3 && c->spec.mode == JOB_SPLIT);
	CHECK(c->submitted_ns == t0 && c->elapsed_ns == 70);
	CHECK(jobs_cancel(id, &info) == 1);
	CHECK(nchanges == n0 + 2);
	CHECK(run_one(0, 10));          /* started, but cancelled: not running */
	jobs_poll();
	CHECK(nchanges == n0 + 2);
	CHECK(run_one(1, 10) && run_one(2, 10));
	int e0 = ends;
	jobs_poll();
	CHECK(r.calls == 1 && r.info.state == JOB_CANCELLED && ends == e0 + 1);
	CHECK(nchanges == n0 + 2);
	CHECK(SEQ(id, JOB_QUEUED, JOB_CANCELLED));
	CHECK(jobs_cancel(id, &info) == 1);     /* from the history */
	jobs_poll();
	CHECK(nchanges == n0 + 2);

	/* Started but not yet seen by a poll, then cancelled: no running. */
	CHECK(jobs_submit(&s, now, NULL, NULL, &id) == JOB_OK);
	CHECK(run_one(2, 10));
	CHECK(jobs_cancel(id, &info) == 0);
	drain();
	CHECK(SEQ(id, JOB_QUEUED, JOB_CANCELLED));
}

/* Cancelled while running: queued, running, cancelled, and nothing when
 * jobs_poll ends it. */
static void test_change_cancel_running(void)
{
	struct job_spec s = { .limit = 1000, .tasks = 3, .mode = JOB_REPEAT };
	struct rec r = { 0 };
	uint64_t id;
	CHECK(jobs_submit(&s, now, on_done, &r, &id) == JOB_OK);
	CHECK(run_one(1, 10));
	jobs_poll();
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING));
	int n0 = nchanges;
	struct job_info info;
	CHECK(jobs_cancel(id, &info) == 0);
	CHECK(nchanges == n0 + 1);
	const struct job_info *c = &changes[n0].info;
	CHECK(c->id == id && c->state == JOB_CANCELLED && !c->has_result);
	CHECK(c->spec.limit == 1000 && c->spec.tasks == 3);
	jobs_poll();
	CHECK(run_one(2, 10));
	jobs_poll();
	CHECK(run_one(3, 10));
	jobs_poll();
	CHECK(r.calls == 1 && r.info.state == JOB_CANCELLED);
	CHECK(nchanges == n0 + 1);
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING, JOB_CANCELLED));

	/* Cancelled from inside its own running task (the yield fake). */
	struct job_spec big = { .limit = JOBS_LIMIT_MAX, .tasks = 2, .mode = JOB_REPEAT };
	CHECK(jobs_submit(&big, now, NULL, NULL, &id) == JOB_OK);
	yields = 0;
	cancel_on_yield = id;
	cancel_on_yield_rc = 99;
	CHECK(run_one(0, 1));
	CHECK(cancel_on_yield_rc == 0);
	cancel_on_yield = 0;
	drain();
	CHECK(SEQ(id, JOB_QUEUED, JOB_CANCELLED));
}

/* A cancel after the last task finished does not take effect: no
 * cancelled report, and jobs_poll reports the job done. */
static void test_change_cancel_late(void)
{
	struct job_spec s = { .limit = 1000, .tasks = 2, .mode = JOB_SPLIT };
	struct rec r = { 0 };
	uint64_t id;
	CHECK(jobs_submit(&s, now, on_done, &r, &id) == JOB_OK);
	CHECK(run_one(0, 10) && run_one(1, 10));
	int n0 = nchanges;
	struct job_info info;
	CHECK(jobs_cancel(id, &info) == 1 && info.state == JOB_DONE);
	CHECK(nchanges == n0);
	jobs_poll();
	CHECK(r.calls == 1 && r.info.state == JOB_DONE);
	CHECK(SEQ(id, JOB_QUEUED, JOB_DONE));
	CHECK(changes[nchanges - 1].info.has_result && changes[nchanges - 1].info.result == 168);

	/* The same after it was seen running. */
	CHECK(jobs_submit(&s, now, on_done, &r, &id) == JOB_OK);
	CHECK(run_one(0, 10));
	jobs_poll();
	CHECK(run_one(1, 10));
	CHECK(jobs_cancel(id, &info) == 1 && info.state == JOB_DONE);
	jobs_poll();
	CHECK(SEQ(id, JOB_QUEUED, JOB_RUNNING, JOB_DONE));
	CHECK(changes[nchanges - 1].info.result == 168);
}

/* A refused submit reports nothing: invalid, no queue room, 64 in flight,
 * and the queue saying no after the job was built. */
static void test_change_refused(void)
{
	int n0 = nchanges;
	struct job_spec bad = { .limit = 100, .tasks = 0, .mode = JOB_REPEAT };
	CHECK(jobs_submit(&bad, now, NULL, NULL, NULL) == JOB_EINVAL);
	struct job_spec s = { .limit = 100, .tasks = 4, .mode = JOB_REPEAT };
	q_cap = 3;
	CHECK(jobs_submit(&s, now, NULL, NULL, NULL) == JOB_EBUSY);
	q_cap = 1024;
	submit_refuses = true;
	CHECK(jobs_submit(&s, now, NULL, NULL, NULL) == JOB_EBUSY);
	submit_refuses = false;
	CHECK(nchanges == n0);
	jobs_poll();
	CHECK(nchanges == n0);

	s.tasks = 1;
	uint64_t first = 0, id = 0;
	for (int i = 0; i < JOBS_MAX_INFLIGHT; i++) {
		CHECK(jobs_submit(&s, now, NULL, NULL, &id) == JOB_OK);
		if (i == 0)
			first = id;
	}
	CHECK(nchanges == n0 + JOBS_MAX_INFLIGHT);
	CHECK(jobs_submit(&s, now, NULL, NULL, NULL) == JOB_EBUSY);
	CHECK(nchanges == n0 + JOBS_MAX_INFLIGHT);
	drain();
	CHECK(nchanges == n0 + 2 * JOBS_MAX_INFLIGHT);
	/* Each of them queued then done (the log holds the first ones). */
	CHECK(SEQ(first, JOB_QUEUED, JOB_DONE));
	CHECK(SEQ(first + 1, JOB_QUEUED, JOB_DONE));
	CHECK(counters().running == 0);
}

/* on_change NULL: every path that would report runs without it. */
static void test_change_null(void)
{
	jobs_init(&fake_env);
	int n0 = nchanges;
	struct job_spec s = { .limit = 1000, .tasks = 2, .mode = JOB_REPEAT };
	struct rec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	uint64_t a, b, c;
	CHECK(jobs_submit(&s, now, on_done, &r1, &a) == JOB_OK);
	CHECK(jobs_submit(&s, now, on_done, &r2, &b) == JOB_OK);
	CHECK(jobs_submit(&s, now, on_done, &r3, &c) == JOB_OK);
	struct job_info info;
	CHECK(jobs_cancel(a, &info) == 0);
	CHECK(run_one(0, 10) && run_one(1, 10) && run_one(2, 10));
	jobs_poll();                    /* b seen running */
	CHECK(jobs_cancel(b, &info) == 0);
	drain();
	CHECK(r1.calls == 1 && r1.info.state == JOB_CANCELLED);
	CHECK(r2.calls == 1 && r2.info.state == JOB_CANCELLED);
	CHECK(r3.calls == 1 && r3.info.state == JOB_DONE && r3.info.result == 336);
	CHECK(nchanges == n0);
}

static void test_change(void)
{
	struct jobs_env e = change_env();
	jobs_init(&e);
	nchanges = 0;
	test_change_run();
	test_change_skip_running();
	test_change_cancel_queued();
	test_change_cancel_running();
	test_change_cancel_late();
	test_change_refused();
	CHECK(nchanges <= CHANGES_MAX);
	test_change_null();
}

int main(void)
{
	/* A cancel that never lands leaves a 2^40 task running: fail, not hang. */
	alarm(60);
	now = 1000000;
	reset_env();
	jobs_init(&fake_env);

	test_spec_check();
	test_einval();
	uint64_t id = test_repeat_done();
	CHECK(id == 1);
	reset_env();
	id = test_split_done(id);
	test_list_order(id);
	reset_env();
	test_busy();
	reset_env();
	test_cancel_queued();
	reset_env();
	test_cancel_running();
	reset_env();
	test_cancel_finished();
	test_unknown();
	reset_env();
	test_history();
	reset_env();
	test_callback_submits();
	reset_env();
	test_heap_rule();
	reset_env();
	test_reinit();
	reset_env();
	test_change();

	/* Nothing left anywhere: LeakSanitizer sees every task freed. */
	CHECK(depth() == 0);
	CHECK(counters().running == 0);
	return CHECK_DONE("jobs");
}
