/* test_taskq.c - the lock-free task queue under a pthreads stress: four
 * producers and four consumers move 2 million items through a small ring;
 * every item must come out exactly once. Plus the edge cases. */
#include <pthread.h>
#include <stdint.h>
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
	return CHECK_DONE("taskq");
}
