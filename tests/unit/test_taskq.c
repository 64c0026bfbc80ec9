/* test_taskq.c - the lock-free task queue under a pthreads stress: four
 * producers and four consumers move 2 million items through a small ring;
 * every item must come out exactly once. Plus the edge cases. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../smp/taskq.h"
#include "check.h"

#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 500000
#define CAP 64

static struct taskq q;
static struct taskq_cell cells[CAP];
static unsigned char *seen;
static volatile int producers_done;
static volatile long consumed;

static void *producer(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	for (uintptr_t i = 0; i < PER_PRODUCER; i++) {
		uintptr_t item = id * PER_PRODUCER + i + 1;     /* never NULL */
		while (!taskq_push(&q, (void *)item))
			;
	}
	__atomic_fetch_add(&producers_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (;;) {
		void *p = taskq_pop(&q);
		if (p) {
			uintptr_t item = (uintptr_t)p - 1;
			__atomic_fetch_add(&seen[item], 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&consumed, 1, __ATOMIC_RELAXED);
		} else if (__atomic_load_n(&producers_done, __ATOMIC_SEQ_CST) == PRODUCERS &&
			   taskq_depth(&q) == 0) {
			return NULL;
		}
	}
}

/* The scheduler's contract (issue 10, defect 2): one producer at a time
 * checks the room for a batch, then pushes the batch and expects every
 * push to succeed, while consumers pop small items as fast as they can.
 * With room taken as capacity - depth, a consumer that advanced head but
 * had not yet released its cell made a push fail after the check passed
 * (sched_submit then panicked). taskq_room counts released cells only. */
#define BATCH_ROUNDS 300000
static volatile int batch_done;
static long batch_failed_pushes, batch_pushed, batch_refused;
static volatile long batch_popped;

static void *batch_consumer(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&batch_done, __ATOMIC_ACQUIRE) || taskq_depth(&q))
		if (taskq_pop(&q))
			__atomic_fetch_add(&batch_popped, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void batch_stress(void)
{
	CHECK(taskq_init(&q, cells, CAP) == 0);
	pthread_t c[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&c[i], NULL, batch_consumer, NULL);
	for (long r = 0; r < BATCH_ROUNDS; r++) {
		uint64_t n = 1 + (uint64_t)r % 8;
		if (taskq_room(&q) < n) {
			batch_refused++;        /* the scheduler answers "busy" */
			continue;
		}
		for (uint64_t i = 0; i < n; i++) {
			if (taskq_push(&q, (void *)(uintptr_t)1))
				batch_pushed++;
			else
				batch_failed_pushes++;
		}
	}
	__atomic_store_n(&batch_done, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++)
		pthread_join(c[i], NULL);
	printf("taskq batches: %ld pushed, %ld refused for room, %ld pushes failed after the check\n",
	       batch_pushed, batch_refused, batch_failed_pushes);
	CHECK(batch_failed_pushes == 0);
	CHECK(batch_popped == batch_pushed);
	CHECK(taskq_room(&q) == CAP);
}

int main(void)
{
	/* Edge cases. */
	struct taskq_cell small[4];
	struct taskq sq;
	CHECK(taskq_init(&sq, small, 3) == -1);
	CHECK(taskq_init(&sq, small, 4) == 0);
	CHECK(taskq_pop(&sq) == NULL);
	for (uintptr_t i = 1; i <= 4; i++)
		CHECK(taskq_push(&sq, (void *)i));
	CHECK(!taskq_push(&sq, (void *)5));     /* full */
	CHECK(taskq_depth(&sq) == 4);
	for (uintptr_t i = 1; i <= 4; i++)
		CHECK(taskq_pop(&sq) == (void *)i);     /* FIFO */
	CHECK(taskq_pop(&sq) == NULL);
	CHECK(taskq_depth(&sq) == 0);
	CHECK(taskq_room(&sq) == 4);
	CHECK(taskq_push(&sq, (void *)1) && taskq_room(&sq) == 3);
	CHECK(taskq_pop(&sq) == (void *)1 && taskq_room(&sq) == 4);
	/* Wrap around many times. */
	for (uintptr_t i = 1; i < 1000; i++) {
		CHECK(taskq_push(&sq, (void *)i));
		CHECK(taskq_pop(&sq) == (void *)i);
	}

	/* Stress. */
	seen = calloc((size_t)PRODUCERS * PER_PRODUCER, 1);
	CHECK(taskq_init(&q, cells, CAP) == 0);
	pthread_t p[PRODUCERS], c[CONSUMERS];
	for (uintptr_t i = 0; i < CONSUMERS; i++)
		pthread_create(&c[i], NULL, consumer, NULL);
	for (uintptr_t i = 0; i < PRODUCERS; i++)
		pthread_create(&p[i], NULL, producer, (void *)i);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(p[i], NULL);
	for (int i = 0; i < CONSUMERS; i++)
		pthread_join(c[i], NULL);
	CHECK(consumed == (long)PRODUCERS * PER_PRODUCER);
	long bad = 0;
	for (long i = 0; i < (long)PRODUCERS * PER_PRODUCER; i++)
		if (seen[i] != 1)
			bad++;
	CHECK(bad == 0);
	free(seen);
	batch_stress();
	return CHECK_DONE("taskq");
}
