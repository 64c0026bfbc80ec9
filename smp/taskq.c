/* taskq.c - bounded MPMC queue. Each cell's seq says whose turn it is:
 * seq == pos: free for the producer of position pos; seq == pos + 1:
 * holds the item for the consumer of pos. Producers and consumers claim
 * positions with a compare-and-swap on tail/head. */
#include "taskq.h"

/* The unit test widens the window between a consumer's claim of a cell
 * and its release (it includes this file with its own definition). */
#ifndef TASKQ_RACE_WINDOW
#define TASKQ_RACE_WINDOW() ((void)0)
#endif

int taskq_init(struct taskq *q, struct taskq_cell *cells, uint64_t capacity)
{
	if (capacity < 2 || (capacity & (capacity - 1)))
		return -1;
	q->cells = cells;
	q->mask = capacity - 1;
	for (uint64_t i = 0; i < capacity; i++) {
		cells[i].item = NULL;
		__atomic_store_n(&cells[i].seq, i, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&q->head, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&q->tail, 0, __ATOMIC_SEQ_CST);
	return 0;
}

bool taskq_push(struct taskq *q, void *item)
{
	uint64_t pos = __atomic_load_n(&q->tail, __ATOMIC_RELAXED);
	for (;;) {
		struct taskq_cell *c = &q->cells[pos & q->mask];
		uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		int64_t dif = (int64_t)(seq - pos);
		if (dif == 0) {
			if (__atomic_compare_exchange_n(&q->tail, &pos, pos + 1, true,
							__ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
				c->item = item;
				__atomic_store_n(&c->seq, pos + 1, __ATOMIC_RELEASE);
				return true;
			}
		} else if (dif < 0) {
			return false;   /* full */
		} else {
			pos = __atomic_load_n(&q->tail, __ATOMIC_RELAXED);
		}
	}
}

void *taskq_pop(struct taskq *q)
{
	uint64_t pos = __atomic_load_n(&q->head, __ATOMIC_RELAXED);
	for (;;) {
		struct taskq_cell *c = &q->cells[pos & q->mask];
		uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		int64_t dif = (int64_t)(seq - (pos + 1));
		if (dif == 0) {
			if (__atomic_compare_exchange_n(&q->head, &pos, pos + 1, true,
							__ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
				void *item = c->item;
				TASKQ_RACE_WINDOW();    /* claimed, not yet released */
				__atomic_store_n(&c->seq, pos + q->mask + 1, __ATOMIC_RELEASE);
				return item;
			}
		} else if (dif < 0) {
			return NULL;    /* empty (or the producer is mid-publish) */
		} else {
			pos = __atomic_load_n(&q->head, __ATOMIC_RELAXED);
		}
	}
}

uint64_t taskq_depth(const struct taskq *q)
{
	uint64_t t = __atomic_load_n(&q->tail, __ATOMIC_SEQ_CST);
	uint64_t h = __atomic_load_n(&q->head, __ATOMIC_SEQ_CST);
	return t > h ? t - h : 0;
}

uint64_t taskq_room(const struct taskq *q)
{
	uint64_t t = __atomic_load_n(&q->tail, __ATOMIC_SEQ_CST);
	uint64_t n = 0;
	while (n < taskq_capacity(q) &&
	       __atomic_load_n(&q->cells[(t + n) & q->mask].seq, __ATOMIC_ACQUIRE) == t + n)
		n++;
	return n;
}
