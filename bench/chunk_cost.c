/* chunk_cost - what chunking costs a single task, in instructions: the
 * plain loop of API.md section 1 against the same count done as a
 * one-task job of the real job engine on the real work table (claims,
 * chunk bodies, per-core slots, the end), on one thread of the host.
 * make bench runs both under valgrind's callgrind, whose instruction
 * counts repeat exactly whatever else the machine does (the guest's
 * timings on this shared host move by more than the 1 % asked for).
 *
 *   chunk_cost plain LIMIT     count_primes_below(LIMIT)
 *   chunk_cost job LIMIT       the same as a one-task job, sched=share
 *
 * Prints the count; exits 1 if it is wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../appliance/jobs/jobs.h"
#include "../appliance/jobs/primes.h"
#include "../smp/worktab.h"

static struct worktab table;
static int hazard[1];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int add(const struct work *w)
{
	return worktab_add(&table, w);
}

static uint64_t withdraw(int slot, const void *owner)
{
	return worktab_withdraw(&table, slot, owner);
}

static int core0(void)
{
	return 0;
}

static void kick(void)
{
}

static uint64_t result;
static int ended;

static void done(struct job_waiter *w, const struct job_info *info)
{
	(void)w;
	result = info->result;
	ended = 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: chunk_cost plain|job LIMIT\n");
		return 2;
	}
	uint64_t limit = strtoull(argv[2], NULL, 10);
	uint64_t want;
	if (!strcmp(argv[1], "plain")) {
		want = result = count_primes_below(limit);
	} else {
		worktab_init(&table, hazard, 1, WORKTAB_SHARE);
		jobs_init(&(struct jobs_platform){ .now_ns = now_ns, .add = add, .withdraw = withdraw,
						   .core_index = core0, .ncores = 1, .kick = kick });
		struct job_waiter w = { .done = done };
		struct job_spec spec = { .limit = limit, .tasks = 1, .mode = JOB_REPEAT };
		if (jobs_submit(&spec, now_ns(), &w, NULL) != JOB_OK)
			return 1;
		int cursor = 0;
		struct claim c;
		while (worktab_claim(&table, 0, &cursor, &c))
			while (worktab_run(&table, &c) & WORKTAB_MORE)
				;
		jobs_poll();
		if (!ended)
			return 1;
		want = 0;       /* checked against the plain loop by the caller */
	}
	printf("%llu\n", (unsigned long long)result);
	return want && result != want;
}
