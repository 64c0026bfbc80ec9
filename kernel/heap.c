/* heap.c - first-fit, address-ordered, coalescing allocator. Each block
 * starts with a header holding its total size; allocated blocks with an
 * alignment need keep a back-pointer just below the user pointer. */
#include "heap.h"

struct heap_block {
	size_t size;                    /* whole block, header included */
	struct heap_block *next;        /* next free block (free blocks only) */
};

/* Just below every user pointer. */
struct heap_tag {
	struct heap_block *block;
	size_t magic;
};

#define TAG_MAGIC ((size_t)0xa110c8edULL)
#define MIN_BLOCK (sizeof(struct heap_block) + 32)

static uintptr_t align_up(uintptr_t x, size_t a)
{
	return (x + a - 1) & ~(uintptr_t)(a - 1);
}

void heap_init(struct heap *h, void *arena, size_t size)
{
	uintptr_t s = align_up((uintptr_t)arena, HEAP_ALIGN);
	uintptr_t e = ((uintptr_t)arena + size) & ~(uintptr_t)(HEAP_ALIGN - 1);
	h->start = s;
	h->end = e;
	h->used = h->peak = 0;
	h->failures = 0;
	h->free = NULL;
	if (e > s + MIN_BLOCK) {
		h->free = (struct heap_block *)s;
		h->free->size = e - s;
		h->free->next = NULL;
	}
}

void *heap_alloc(struct heap *h, size_t n, size_t align)
{
	if (align == 0)
		align = HEAP_ALIGN;
	if ((align & (align - 1)) || n > h->end - h->start) {
		h->failures++;
		return NULL;
	}
	if (align < HEAP_ALIGN)
		align = HEAP_ALIGN;
	for (struct heap_block **pp = &h->free; *pp; pp = &(*pp)->next) {
		struct heap_block *b = *pp;
		uintptr_t user = align_up((uintptr_t)b + sizeof(struct heap_tag) + sizeof(size_t), align);
		uintptr_t need_end = align_up(user + n, HEAP_ALIGN);
		if (need_end > (uintptr_t)b + b->size)
			continue;
		size_t take = need_end - (uintptr_t)b;
		if (b->size - take >= MIN_BLOCK) {
			struct heap_block *rest = (struct heap_block *)need_end;
			rest->size = b->size - take;
			rest->next = b->next;
			*pp = rest;
			b->size = take;
		} else {
			*pp = b->next;
		}
		struct heap_tag *tag = (struct heap_tag *)user - 1;
		tag->block = b;
		tag->magic = TAG_MAGIC;
		h->used += b->size;
		if (h->used > h->peak)
			h->peak = h->used;
		return (void *)user;
	}
	h->failures++;
	return NULL;
}

size_t heap_block_size(const void *p)
{
	const struct heap_tag *tag = (const struct heap_tag *)p - 1;
	return (uintptr_t)tag->block + tag->block->size - (uintptr_t)p;
}

void heap_free(struct heap *h, void *p)
{
	if (!p)
		return;
	struct heap_tag *tag = (struct heap_tag *)p - 1;
	if (tag->magic != TAG_MAGIC)
		return;         /* not ours, or freed twice: leave it be */
	tag->magic = 0;
	struct heap_block *b = tag->block;
	h->used -= b->size;

	struct heap_block *prev = NULL, *next = h->free;
	while (next && next < b)
		prev = next, next = next->next;
	b->next = next;
	if (prev)
		prev->next = b;
	else
		h->free = b;
	if (next && (uintptr_t)b + b->size == (uintptr_t)next) {
		b->size += next->size;
		b->next = next->next;
	}
	if (prev && (uintptr_t)prev + prev->size == (uintptr_t)b) {
		prev->size += b->size;
		prev->next = b->next;
	}
}

size_t heap_check(const struct heap *h)
{
	size_t total = 0;
	for (const struct heap_block *b = h->free; b; b = b->next) {
		if ((uintptr_t)b < h->start || (uintptr_t)b + b->size > h->end)
			return (size_t)-1;
		if (b->next && (uintptr_t)b + b->size >= (uintptr_t)b->next)
			return (size_t)-1;      /* out of order, overlapping or unmerged */
		total += b->size;
	}
	return total;
}
