/* worktab.c - claiming chunks of the jobs in flight (worktab.h).
 *
 * A claim: publish the slot as this core's hazard, re-check that the slot
 * is active, then one LOCK XADD on its next counter; a number past the
 * end means the job has no chunk left, and the claimer clears its active
 * bit. A chunk ends with a LOCK XADD on its task's count and, for a task's
 * last chunk, on the job's: the core that takes the job's to zero frees
 * the slot and calls finished. */
#include "worktab.h"

/* The unit test widens the windows between a core's hazard and its
 * claim, and between filling a slot and opening it (it includes this
 * file with its own definition). */
#ifndef WORKTAB_RACE_WINDOW
#define WORKTAB_RACE_WINDOW() ((void)0)
#endif

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

void worktab_init(struct worktab *t, int *hazards, int ncores, enum worktab_policy p)
{
	for (int i = 0; i < WORKTAB_SLOTS; i++) {
		t->slot[i] = (struct worktab_slot){ 0 };
	}
	for (int c = 0; c < ncores; c++)
		hazards[c] = 0;
	t->hazard = hazards;
	t->ncores = ncores;
	t->policy = p;
	t->next_seq = 0;
	__atomic_store_n(&t->active, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->used, 0, __ATOMIC_SEQ_CST);
}

/* The claim unit's end: chunks in share, tasks in task. */
static uint64_t units(const struct worktab *t, const struct worktab_slot *s)
{
	return t->policy == WORKTAB_TASK ? s->w.tasks : s->nchunks;
}

/* The task that chunk k (< nchunks) belongs to: binary search. */
static uint32_t task_of(const struct work *w, uint64_t k)
{
	uint32_t lo = 0, hi = w->tasks - 1;
	while (lo < hi) {                       /* last t with chunk_start[t] <= k */
		uint32_t mid = lo + (hi - lo + 1) / 2;
		if (w->chunk_start[mid] <= k)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

int worktab_add(struct worktab *t, const struct work *w)
{
	uint64_t used = __atomic_load_n(&t->used, __ATOMIC_SEQ_CST);
	if (used == ~0ULL)
		return -1;
	int i = __builtin_ctzll(~used);
	/* A core that looked at this slot before its last job ended may
	 * still be about to read it: wait until none does. */
	for (int c = 0; c < t->ncores; c++)
		while (__atomic_load_n(&t->hazard[c], __ATOMIC_SEQ_CST) == i + 1)
			cpu_relax();
	struct worktab_slot *s = &t->slot[i];
	s->w = *w;
	s->nchunks = w->chunk_start[w->tasks];
	s->seq = t->next_seq++;
	s->withdrawn = 0;
	s->started = 0;
	for (uint32_t k = 0; k < w->tasks; k++)
		__atomic_store_n(&w->task_left[k], w->chunk_start[k + 1] - w->chunk_start[k],
				 __ATOMIC_RELAXED);
	__atomic_store_n(&s->tasks_left, w->tasks, __ATOMIC_RELAXED);
	WORKTAB_RACE_WINDOW();
	__atomic_store_n(&s->next, 0, __ATOMIC_RELEASE);
	__atomic_fetch_or(&t->used, 1ULL << i, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&t->active, 1ULL << i, __ATOMIC_SEQ_CST);    /* publish */
	return i;
}

/* One claim from slot i, under this core's hazard. */
static bool try_slot(struct worktab *t, int core, int i, struct claim *c)
{
	bool ok = false;
	__atomic_store_n(&t->hazard[core], i + 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&t->active, __ATOMIC_SEQ_CST) & (1ULL << i)) {
		struct worktab_slot *s = &t->slot[i];
		WORKTAB_RACE_WINDOW();
		uint64_t k = __atomic_fetch_add(&s->next, 1, __ATOMIC_ACQ_REL);
		if (k < units(t, s)) {
			c->slot = i;
			if (t->policy == WORKTAB_TASK) {
				c->task = (uint32_t)k;
				c->first = s->w.chunk_start[k];
				c->end = s->w.chunk_start[k + 1];
			} else {
				c->task = task_of(&s->w, k);
				c->first = k;
				c->end = k + 1;
			}
			if (c->first == s->w.chunk_start[c->task])
				__atomic_fetch_add(&s->started, 1, __ATOMIC_RELAXED);
			ok = true;
		} else {
			__atomic_fetch_and(&t->active, ~(1ULL << i), __ATOMIC_SEQ_CST);
		}
	}
	__atomic_store_n(&t->hazard[core], 0, __ATOMIC_RELEASE);
	return ok;
}

/* task: the active slot that arrived first (a hint: the claim decides). */
static int oldest(struct worktab *t, uint64_t act)
{
	int best = -1;
	uint64_t best_seq = 0;
	for (; act; act &= act - 1) {
		int i = __builtin_ctzll(act);
		uint64_t seq = __atomic_load_n(&t->slot[i].seq, __ATOMIC_RELAXED);
		if (best < 0 || seq < best_seq) {
			best = i;
			best_seq = seq;
		}
	}
	return best;
}

bool worktab_claim(struct worktab *t, int core, int *cursor, struct claim *c)
{
	for (int tries = 0; tries < 2 * WORKTAB_SLOTS; tries++) {
		uint64_t act = __atomic_load_n(&t->active, __ATOMIC_SEQ_CST);
		if (!act)
			return false;
		int i;
		if (t->policy == WORKTAB_TASK) {
			i = oldest(t, act);
		} else {
			/* The next active slot at or after the cursor, wrapping. */
			int from = *cursor % WORKTAB_SLOTS;
			uint64_t rot = from ? act >> from | act << (WORKTAB_SLOTS - from) : act;
			i = (from + __builtin_ctzll(rot)) % WORKTAB_SLOTS;
		}
		if (try_slot(t, core, i, c)) {
			*cursor = i + 1;
			return true;
		}
		*cursor = i + 1;        /* that one is spent: look further on */
	}
	return false;
}

/* The job in slot i ended: tell its owner, then free the slot. In that
 * order, so that an owner that sees its job not yet finished may still
 * withdraw from the slot: it cannot hold another job yet. */
static void finish(struct worktab *t, int i)
{
	struct worktab_slot *s = &t->slot[i];
	bool all_ran = !__atomic_load_n(&s->withdrawn, __ATOMIC_ACQUIRE);
	__atomic_fetch_and(&t->active, ~(1ULL << i), __ATOMIC_SEQ_CST);
	s->w.finished(s->w.owner, all_ran);
	__atomic_fetch_and(&t->used, ~(1ULL << i), __ATOMIC_SEQ_CST);
}

int worktab_step(struct worktab *t, struct claim *c)
{
	struct worktab_slot *s = &t->slot[c->slot];
	uint64_t k = c->first++;
	s->w.run(s->w.owner, c->task, k - s->w.chunk_start[c->task]);
	/* After this decrement the slot is another core's to free, unless it
	 * was the task's last chunk: then the job is still ours until its
	 * own count is taken down. */
	if (__atomic_sub_fetch(&s->w.task_left[c->task], 1, __ATOMIC_ACQ_REL))
		return 0;
	if (__atomic_sub_fetch(&s->tasks_left, 1, __ATOMIC_ACQ_REL))
		return WORKTAB_TASK_ENDED;
	finish(t, c->slot);
	return WORKTAB_TASK_ENDED | WORKTAB_JOB_ENDED;
}

uint64_t worktab_withdraw(struct worktab *t, int i)
{
	struct worktab_slot *s = &t->slot[i];
	const struct work *w = &s->w;
	uint64_t end = units(t, s);
	uint64_t old = __atomic_exchange_n(&s->next, end, __ATOMIC_ACQ_REL);
	if (old >= end)
		return 0;               /* every chunk is claimed: the job ends done */
	__atomic_store_n(&s->withdrawn, 1, __ATOMIC_RELEASE);
	uint32_t first_task;            /* the first task no core has claimed a chunk of */
	uint64_t taken, ended = 0;
	if (t->policy == WORKTAB_TASK) {
		first_task = (uint32_t)old;
		taken = s->nchunks - w->chunk_start[old];
	} else {
		taken = s->nchunks - old;
		first_task = task_of(w, old);
		if (old > w->chunk_start[first_task]) {
			/* Cores run this task's earlier chunks: take the rest. */
			uint64_t rest = w->chunk_start[first_task + 1] - old;
			if (__atomic_sub_fetch(&w->task_left[first_task], rest, __ATOMIC_ACQ_REL) == 0)
				ended++;
			first_task++;
		}
	}
	for (uint32_t k = first_task; k < w->tasks; k++) {
		__atomic_store_n(&w->task_left[k], 0, __ATOMIC_RELAXED);
		ended++;
	}
	__atomic_fetch_and(&t->active, ~(1ULL << i), __ATOMIC_SEQ_CST);
	if (ended && __atomic_sub_fetch(&s->tasks_left, ended, __ATOMIC_ACQ_REL) == 0)
		finish(t, i);
	return taken;
}

bool worktab_has_work(const struct worktab *t)
{
	for (uint64_t act = __atomic_load_n(&t->active, __ATOMIC_SEQ_CST); act; act &= act - 1) {
		const struct worktab_slot *s = &t->slot[__builtin_ctzll(act)];
		if (__atomic_load_n(&s->next, __ATOMIC_ACQUIRE) < units(t, s))
			return true;
	}
	return false;
}

uint64_t worktab_tasks_waiting(const struct worktab *t)
{
	uint64_t n = 0;
	for (uint64_t u = __atomic_load_n(&t->used, __ATOMIC_ACQUIRE); u; u &= u - 1) {
		const struct worktab_slot *s = &t->slot[__builtin_ctzll(u)];
		uint64_t tasks = __atomic_load_n(&s->w.tasks, __ATOMIC_RELAXED);
		uint64_t started = __atomic_load_n(&s->started, __ATOMIC_RELAXED);
		if (__atomic_load_n(&s->withdrawn, __ATOMIC_RELAXED))
			continue;       /* cancelled: nothing of it waits */
		n += started < tasks ? tasks - started : 0;
	}
	return n;
}
