/* kheap.c - malloc/free/calloc/realloc for the kernel, lwIP and the
 * services: the pure allocator of heap.c behind one spinlock. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "kheap.h"
#include "spinlock.h"
#include "x86.h"

static struct heap kheap;
static struct spinlock kheap_lock;

void kheap_init(void *arena, size_t size)
{
	heap_init(&kheap, arena, size);
}

void *kmalloc_aligned(size_t n, size_t align)
{
	uint64_t flags = read_rflags();
	cli();
	spin_lock(&kheap_lock);
	void *p = heap_alloc(&kheap, n, align);
	spin_unlock(&kheap_lock);
	if (flags & RFLAGS_IF)
		sti();
	return p;
}

void *malloc(size_t n)
{
	return kmalloc_aligned(n, HEAP_ALIGN);
}

void free(void *p)
{
	uint64_t flags = read_rflags();
	cli();
	spin_lock(&kheap_lock);
	heap_free(&kheap, p);
	spin_unlock(&kheap_lock);
	if (flags & RFLAGS_IF)
		sti();
}

void *calloc(size_t count, size_t n)
{
	if (n && count > SIZE_MAX / n)
		return NULL;
	void *p = malloc(count * n);
	if (p)
		memset(p, 0, count * n);
	return p;
}

void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	size_t old = heap_block_size(p);
	if (n <= old)
		return p;
	void *q = malloc(n);
	if (q) {
		memcpy(q, p, old);
		free(p);
	}
	return q;
}

void kheap_stats(struct kheap_stats *st)
{
	st->total = kheap.end - kheap.start;
	st->used = kheap.used;
	st->peak = kheap.peak;
	st->failures = kheap.failures;
}
