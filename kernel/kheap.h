/* kheap.h - the kernel heap (malloc and friends are in <stdlib.h>). */
#ifndef KERNEL_KHEAP_H
#define KERNEL_KHEAP_H

#include <stddef.h>
#include <stdint.h>

struct kheap_stats {
	size_t total, used, peak;
	uint64_t failures;
};

void kheap_init(void *arena, size_t size);
void *kmalloc_aligned(size_t n, size_t align);
void kheap_stats(struct kheap_stats *st);

#endif
