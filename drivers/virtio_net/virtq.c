/* virtq.c - split virtqueue bookkeeping. Ordering: the device must see a
 * descriptor and its avail entry before avail.idx moves, and the driver
 * reads a used entry only after seeing used.idx move; the fences below
 * say so to the compiler (on x86 stores and loads are not reordered with
 * their own kind). */
#include "virtq.h"

/* A free descriptor's .next carries this bit (sizes are at most 256), so
 * an id the device hands back can be checked: one it does not hold is
 * refused, never freed or re-queued twice. */
#define DESC_FREE 0x8000

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
	for (uint16_t i = 0; i < size; i++)
		q->desc[i].next = (uint16_t)((i + 1) | DESC_FREE);
	q->free_head = 0;
	q->num_free = size;
	q->last_used = 0;
	q->avail_shadow = 0;
	q->unpublished = 0;
	return 0;
}

static void put_avail(struct virtq *q, uint16_t id)
{
	q->avail->ring[q->avail_shadow & (q->size - 1)] = id;
	q->avail_shadow++;
	q->unpublished++;
}

int virtq_add(struct virtq *q, uint64_t addr, uint32_t len, bool device_writes)
{
	if (q->num_free == 0)
		return -1;
	uint16_t id = q->free_head;
	q->free_head = q->desc[id].next & ~DESC_FREE;
	q->num_free--;
	q->desc[id].addr = addr;
	q->desc[id].len = len;
	q->desc[id].flags = device_writes ? VIRTQ_DESC_F_WRITE : 0;
	q->desc[id].next = 0;
	put_avail(q, id);
	return id;
}

void virtq_readd(struct virtq *q, uint16_t id, uint32_t len)
{
	q->desc[id].len = len;
	put_avail(q, id);
}

bool virtq_publish(struct virtq *q)
{
	if (!q->unpublished)
		return false;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&q->avail->idx, q->avail_shadow, __ATOMIC_RELEASE);
	q->unpublished = 0;
	/* The device's flags are read after our index store is visible. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(__atomic_load_n(&q->used->flags, __ATOMIC_ACQUIRE) & VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_get(struct virtq *q, uint16_t *id, uint32_t *len)
{
	uint16_t used_idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	if (used_idx == q->last_used)
		return false;
	const struct virtq_used_elem *e = &q->used->ring[q->last_used & (q->size - 1)];
	uint32_t got = e->id;
	*len = e->len;
	q->last_used++;
	if (got >= q->size || (q->desc[got].next & DESC_FREE)) {
		/* A device that hands back an id it never got, or one it gave
		 * back already (now free): skip it. */
		*id = 0xffff;
		return true;
	}
	*id = (uint16_t)got;
	return true;
}

void virtq_free(struct virtq *q, uint16_t id)
{
	if (q->desc[id].next & DESC_FREE)
		return;         /* free already: counted once */
	q->desc[id].next = q->free_head | DESC_FREE;
	q->free_head = id;
	q->num_free++;
}
