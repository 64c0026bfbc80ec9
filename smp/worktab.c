/* worktab.c - claiming chunks of the jobs in flight (worktab.h).
 *
 * A claim: publish the slot as this core's hazard, re-check that the slot
 * is active, then one LOCK XADD on its next counter; a number past the
 * end means the job has nothing left to claim, and the claimer clears its
 * active bit. A chunk ends with a LOCK XADD on its task's count of chunks
 * left and, for a task's last, on the job's count of tasks left: the core
 * that takes that to zero calls finished and frees the slot.
 *
 * What keeps a job's memory alive while a core uses it: a claimed chunk
 * is counted in its task's task_left until it ended, and under task the
 * core that holds a task counts one more there until it found the task
 * has no chunk left to claim. So a task cannot end, nor its job finish,
 * under a core that still touches it. Whichever count takes a task's to
 * zero (a chunk's end, the holder letting go, a withdraw) counts the
 * task's end in its job. */
#include "worktab.h"

/* The unit test widens the windows between a core's hazard and its
 * claim, between taking a task and its first chunk, between filling a
 * slot and opening it, and before a task's end is counted in its job (it
 * includes this file with its own definition). */
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
	for (int i = 0; i < WORKTAB_SLOTS; i++)
		t->slot[i] = (struct worktab_slot){ 0 };
	for (int c = 0; c < ncores; c++)
		hazards[c] = 0;
	t->hazard = hazards;
	t->ncores = ncores;
	t->policy = p;
	t->next_seq = 0;
	__atomic_store_n(&t->active, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->used, 0, __ATOMIC_SEQ_CST);
}

static uint64_t first_chunk(const struct work *w, uint32_t task)
{
	return w->chunk_start ? w->chunk_start[task] : task * w->per_task;
}

static uint64_t chunk_count(const struct work *w, uint32_t task)
{
	return first_chunk(w, task + 1) - first_chunk(w, task);
}

/* The task that chunk k (< all chunks) belongs to. */
static uint32_t task_of(const struct work *w, uint64_t k)
{
	if (!w->chunk_start)
		return (uint32_t)(k / w->per_task);
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

/* The claim unit's end: chunks under share, tasks under task. */
static uint64_t units(const struct worktab *t, const struct worktab_slot *s)
{
	return t->policy == WORKTAB_TASK ? s->w.tasks : s->nchunks;
}

uint64_t worktab_units(const struct worktab *t, int slot)
{
	return units(t, &t->slot[slot]);
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
	s->nchunks = first_chunk(w, w->tasks);
	s->seq = t->next_seq++;
	s->withdrawn = 0;
	s->started = 0;
	uint64_t hold = t->policy == WORKTAB_TASK;      /* the holder's own count */
	for (uint32_t k = 0; k < w->tasks; k++) {
		__atomic_store_n(&w->task_left[k], chunk_count(w, k) + hold, __ATOMIC_RELAXED);
		if (hold)
			__atomic_store_n(&w->task_next[k], 0, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&s->tasks_left, w->tasks, __ATOMIC_RELAXED);
	WORKTAB_RACE_WINDOW();
	__atomic_store_n(&s->next, 0, __ATOMIC_RELEASE);
	__atomic_fetch_or(&t->used, 1ULL << i, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&t->active, 1ULL << i, __ATOMIC_SEQ_CST);    /* publish */
	return i;
}

/* The job in slot i ended: free the slot, then tell its owner. The slot
 * may hold another job as soon as it is free, so what the owner needs is
 * read first; the owner's memory lives on until it is told. */
static void finish(struct worktab *t, int i)
{
	struct worktab_slot *s = &t->slot[i];
	bool all_ran = !__atomic_load_n(&s->withdrawn, __ATOMIC_ACQUIRE);
	void (*finished)(void *, bool) = s->w.finished;
	void *owner = s->w.owner;
	__atomic_fetch_and(&t->active, ~(1ULL << i), __ATOMIC_SEQ_CST);
	__atomic_fetch_and(&t->used, ~(1ULL << i), __ATOMIC_SEQ_CST);
	finished(owner, all_ran);
}

/* n counts of task's task_left are done with: the task and the job may
 * end here. */
static int release(struct worktab *t, int i, uint32_t task, uint64_t n)
{
	struct worktab_slot *s = &t->slot[i];
	if (__atomic_sub_fetch(&s->w.task_left[task], n, __ATOMIC_ACQ_REL))
		return 0;
	WORKTAB_RACE_WINDOW();
	if (__atomic_sub_fetch(&s->tasks_left, 1, __ATOMIC_ACQ_REL))
		return WORKTAB_TASK_ENDED;
	finish(t, i);
	return WORKTAB_TASK_ENDED | WORKTAB_JOB_ENDED;
}

/* task: the next chunk of a task this core holds, into c->chunk; false
 * when it has none left (claimed by nobody else: withdrawn or done). */
static bool next_of_task(struct worktab_slot *s, struct claim *c)
{
	uint64_t k = __atomic_fetch_add(&s->w.task_next[c->task], 1, __ATOMIC_ACQ_REL);
	c->chunk = k;
	return k < chunk_count(&s->w, c->task);
}

/* One claim from slot i, under this core's hazard. */
static bool try_slot(struct worktab *t, int core, int i, struct claim *c)
{
	struct worktab_slot *s = &t->slot[i];
	bool got = false, held_task = false;
	__atomic_store_n(&t->hazard[core], i + 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&t->active, __ATOMIC_SEQ_CST) & (1ULL << i)) {
		WORKTAB_RACE_WINDOW();
		uint64_t k = __atomic_fetch_add(&s->next, 1, __ATOMIC_ACQ_REL);
		if (k >= units(t, s)) {
			__atomic_fetch_and(&t->active, ~(1ULL << i), __ATOMIC_SEQ_CST);
		} else if (t->policy == WORKTAB_TASK) {
			c->slot = i;
			c->task = (uint32_t)k;
			__atomic_fetch_add(&s->started, 1, __ATOMIC_RELAXED);
			held_task = true;
		} else {
			c->slot = i;
			c->task = task_of(&s->w, k);
			c->chunk = k - first_chunk(&s->w, c->task);
			if (c->chunk == 0)
				__atomic_fetch_add(&s->started, 1, __ATOMIC_RELAXED);
			got = true;
		}
	}
	__atomic_store_n(&t->hazard[core], 0, __ATOMIC_RELEASE);
	if (held_task) {
		/* The task is this core's; its chunks may have been withdrawn
		 * already: then the holder's count ends it. */
		WORKTAB_RACE_WINDOW();
		got = next_of_task(s, c);
		if (!got)
			release(t, i, c->task, 1);
	}
	return got;
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
		*cursor = i + 1;        /* next time, the job after this one */
		if (try_slot(t, core, i, c))
			return true;
	}
	return false;
}

int worktab_run(struct worktab *t, struct claim *c)
{
	struct worktab_slot *s = &t->slot[c->slot];
	s->w.run(s->w.owner, c->task, c->chunk);
	if (t->policy == WORKTAB_SHARE)
		return release(t, c->slot, c->task, 1);
	/* Claim the next chunk before releasing this one: the task stays
	 * ours either way, by the holder's count. */
	if (next_of_task(s, c)) {
		release(t, c->slot, c->task, 1);        /* never the last: we hold it */
		return WORKTAB_MORE;
	}
	return release(t, c->slot, c->task, 2);         /* this chunk and the hold */
}

uint64_t worktab_withdraw(struct worktab *t, int i, const void *owner)
{
	struct worktab_slot *s = &t->slot[i];
	const struct work *w = &s->w;
	/* Only the caller adds jobs, so a slot that still holds owner's job
	 * keeps holding it here; one that does not, held it until its end. */
	if (!(__atomic_load_n(&t->used, __ATOMIC_SEQ_CST) & (1ULL << i)) || w->owner != owner)
		return 0;
	uint64_t end = units(t, s);
	uint64_t old = __atomic_exchange_n(&s->next, end, __ATOMIC_ACQ_REL);
	__atomic_fetch_and(&t->active, ~(1ULL << i), __ATOMIC_SEQ_CST);
	if (old > end)
		old = end;
	uint64_t taken = 0, ended = 0;
	uint32_t first_free;            /* the first task no core has claimed any of */
	if (t->policy == WORKTAB_TASK) {
		/* Claimed tasks: the chunks their holders have not claimed. A
		 * holder that finds them gone after this exchange lets go of its
		 * task at once, so this count may be the task's last: then its
		 * end is counted here. */
		for (uint32_t k = 0; k < (uint32_t)old; k++) {
			uint64_t n = chunk_count(w, k);
			uint64_t was = __atomic_exchange_n(&w->task_next[k], n, __ATOMIC_ACQ_REL);
			if (was < n) {
				__atomic_store_n(&s->withdrawn, 1, __ATOMIC_RELEASE);
				taken += n - was;
				WORKTAB_RACE_WINDOW();
				if (__atomic_sub_fetch(&w->task_left[k], n - was, __ATOMIC_ACQ_REL) == 0)
					ended++;
			}
		}
		first_free = (uint32_t)old;
	} else {
		first_free = old < end ? task_of(w, old) : w->tasks;
		if (old < end && old > first_chunk(w, first_free)) {
			/* Cores run this task's earlier chunks: take the rest. */
			uint64_t rest = first_chunk(w, first_free + 1) - old;
			__atomic_store_n(&s->withdrawn, 1, __ATOMIC_RELEASE);
			taken += rest;
			if (__atomic_sub_fetch(&w->task_left[first_free], rest, __ATOMIC_ACQ_REL) == 0)
				ended++;
			first_free++;
		}
	}
	/* Tasks no core ever claimed: all theirs, no core touches them. */
	for (uint32_t k = first_free; k < w->tasks; k++) {
		__atomic_store_n(&s->withdrawn, 1, __ATOMIC_RELEASE);
		taken += chunk_count(w, k);
		__atomic_store_n(&w->task_left[k], 0, __ATOMIC_RELAXED);
		ended++;
	}
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
