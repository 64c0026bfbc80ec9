/* taskq.h - the task queue all cores share: a bounded multi-producer,
 * multi-consumer ring on LOCK CMPXCHG (D. Vyukov's bounded MPMC queue).
 * No locks, no sleeping: a full queue refuses, an empty one returns NULL.
 * Pure: the host unit tests stress it with pthreads. */
#ifndef SMP_TASKQ_H
#define SMP_TASKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct taskq_cell {
	uint64_t seq;           /* publication sequence of this cell */
	void *item;
};

struct taskq {
	struct taskq_cell *cells;
	uint64_t mask;          /* capacity - 1, capacity a power of two */
	uint64_t head __attribute__((aligned(64)));     /* next pop */
	uint64_t tail __attribute__((aligned(64)));     /* next push */
};

/* cells must hold capacity entries; capacity a power of two >= 2. */
int taskq_init(struct taskq *q, struct taskq_cell *cells, uint64_t capacity);
bool taskq_push(struct taskq *q, void *item);
void *taskq_pop(struct taskq *q);
/* Items pushed and not yet popped (a snapshot). */
uint64_t taskq_depth(const struct taskq *q);
/* Cells free for pushing, counted from tail in push order: a consumer
 * advances head before it releases the cell it took, and consumers
 * release in any order, so neither capacity - depth nor a count of
 * released cells says that the next cell is free (a consumer descheduled
 * inside taskq_pop holds its cell while later ones are released). This
 * counts the released cells from tail on up to the first one still held:
 * when producers are serialised, room for n means the next n pushes
 * succeed. O(room) loads, at most the capacity. */
uint64_t taskq_room(const struct taskq *q);
static inline uint64_t taskq_capacity(const struct taskq *q) { return q->mask + 1; }

#endif
