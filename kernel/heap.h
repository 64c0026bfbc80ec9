/* heap.h - a first-fit allocator over one arena, free blocks kept in
 * address order and merged with their neighbours on free. Pure (no
 * hardware, no locking): the kernel wraps it with a lock in kheap.c, the
 * host unit tests drive it directly. */
#ifndef KERNEL_HEAP_H
#define KERNEL_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define HEAP_ALIGN 16

struct heap_block;

struct heap {
	struct heap_block *free;        /* free list, address order */
	uintptr_t start, end;           /* the arena */
	size_t used;                    /* bytes handed out, headers included */
	size_t peak;
	uint64_t failures;              /* requests that could not be met */
};

void heap_init(struct heap *h, void *arena, size_t size);
void *heap_alloc(struct heap *h, size_t n, size_t align);
void heap_free(struct heap *h, void *p);
/* Usable size of an allocated block. */
size_t heap_block_size(const void *p);
/* Sum of free bytes; checks list order and merging (for tests). Returns
 * (size_t)-1 when the structure is corrupt. */
size_t heap_check(const struct heap *h);

#endif
