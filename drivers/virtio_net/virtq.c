/* virtq.c - split virtqueue bookkeeping. Ordering: the device must see a
 * descriptor and its avail entry before avail.idx moves, and the driver
 * reads a used entry only after seeing used.idx move; the fences below
 * say so to the compiler (on x86 stores and loads are not reordered with
 * their own kind).
 *
 * What the device writes (used.idx, used entries) is read once and checked
 * before it is used. A used entry is taken only for a descriptor the device
 * holds, and only if used.idx showed it after that descriptor's post was
 * published: an entry the device could not have written honestly (an id
 * it returns twice, say, before the driver has even published the re-post)
 * would otherwise have the driver post one buffer twice, and the device
 * write two frames into it. */
#include "virtq.h"

static size_t align4(size_t x)
{
	return (x + 3) & ~(size_t)3;
}

size_t virtq_mem_size(uint16_t size)
{
	size_t desc = sizeof(struct virtq_desc) * size;
	size_t avail = sizeof(struct virtq_avail) + sizeof(uint16_t) * (size + 1u);
	size_t used = sizeof(struct virtq_used) + sizeof(struct virtq_used_elem) * size +
		      sizeof(uint16_t);
	return align4(desc + avail) + used;
}

int virtq_init(struct virtq *q, uint16_t size, void *mem)
{
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		return -1;
	uint8_t *p = mem;
	for (size_t i = 0; i < virtq_mem_size(size); i++)
		p[i] = 0;
	q->size = size;
	q->desc = (struct virtq_desc *)p;
	q->avail = (struct virtq_avail *)(p + sizeof(struct virtq_desc) * size);
	q->used = (struct virtq_used *)(p + align4(sizeof(struct virtq_desc) * size +
						   sizeof(struct virtq_avail) +
						   sizeof(uint16_t) * (size + 1u)));
	for (uint16_t i = 0; i < size; i++) {
		q->free_next[i] = (uint16_t)(i + 1);    /* the last is never followed */
		q->owner[i] = VIRTQ_FREE;
		q->posted_at[i] = 0;
	}
	q->free_head = 0;
	q->num_free = size;
	q->last_used = 0;
	q->used_seen = 0;
	q->avail_shadow = 0;
	q->unpublished = 0;
	q->lies = (struct virtq_lies){ 0 };
	return 0;
}

/* Each descriptor is queued at most once between publishes (it must be
 * free or the driver's first), so `queued` cannot overflow. */
static void queue(struct virtq *q, uint16_t id)
{
	q->owner[id] = VIRTQ_QUEUED;
	q->queued[q->unpublished++] = id;
	q->avail->ring[q->avail_shadow & (q->size - 1)] = id;
	q->avail_shadow++;
}

int virtq_add(struct virtq *q, uint64_t addr, uint32_t len, bool device_writes)
{
	if (q->num_free == 0)
		return -1;
	uint16_t id = q->free_head;
	q->free_head = q->free_next[id];
	q->num_free--;
	q->desc[id].addr = addr;
	q->desc[id].len = len;
	q->desc[id].flags = device_writes ? VIRTQ_DESC_F_WRITE : 0;
	q->desc[id].next = 0;
	queue(q, id);
	return id;
}

void virtq_readd(struct virtq *q, uint16_t id, uint32_t len)
{
	if (id >= q->size || q->owner[id] != VIRTQ_DRIVER)
		return;
	q->desc[id].len = len;
	queue(q, id);
}

/* Reads used.idx once. An honest device is never more than size entries
 * ahead of the driver (it returns only what it holds, each once); then
 * the index, extended to 64 bits, goes to *end and raises used_seen.
 * False for an index that cannot be true. */
static bool read_used_idx(struct virtq *q, uint64_t *end)
{
	uint16_t idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	uint16_t ahead = (uint16_t)(idx - (uint16_t)q->last_used);
	if (ahead > q->size)
		return false;
	*end = q->last_used + ahead;
	if (*end > q->used_seen)
		q->used_seen = *end;
	return true;
}

bool virtq_publish(struct virtq *q)
{
	if (!q->unpublished)
		return false;
	/* Stamp the posts with used.idx as read before the device can see
	 * them: a used entry before that was written without them. (A bad
	 * index keeps the last good one, which is older: still true.) */
	uint64_t end;
	read_used_idx(q, &end);
	for (uint16_t i = 0; i < q->unpublished; i++) {
		uint16_t id = q->queued[i];
		q->posted_at[id] = q->used_seen;
		q->owner[id] = VIRTQ_DEVICE;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&q->avail->idx, q->avail_shadow, __ATOMIC_RELEASE);
	q->unpublished = 0;
	/* The device's flags are read after our index store is visible. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(__atomic_load_n(&q->used->flags, __ATOMIC_ACQUIRE) & VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_get(struct virtq *q, uint16_t *id, uint32_t *len)
{
	uint64_t end;
	if (!read_used_idx(q, &end)) {
		q->lies.bad_idx++;
		return false;
	}
	while (q->last_used < end) {
		const struct virtq_used_elem *e = &q->used->ring[q->last_used & (q->size - 1)];
		/* Each field read once: the device may rewrite the entry as we go. */
		uint32_t got = __atomic_load_n(&e->id, __ATOMIC_RELAXED);
		uint32_t got_len = __atomic_load_n(&e->len, __ATOMIC_RELAXED);
		uint64_t pos = q->last_used++;
		if (got >= q->size) {
			q->lies.bad_id++;
			continue;
		}
		if (q->owner[got] != VIRTQ_DEVICE || pos < q->posted_at[got]) {
			q->lies.dup_id++;
			continue;
		}
		q->owner[got] = VIRTQ_DRIVER;
		*id = (uint16_t)got;
		*len = got_len;
		return true;
	}
	return false;
}

void virtq_free(struct virtq *q, uint16_t id)
{
	if (id >= q->size || q->owner[id] != VIRTQ_DRIVER)
		return;
	q->owner[id] = VIRTQ_FREE;
	q->free_next[id] = q->free_head;
	q->free_head = id;
	q->num_free++;
}
