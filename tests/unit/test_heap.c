/* test_heap.c - the kernel allocator: alignment, reuse, merging, and a
 * random alloc/free storm checked against the free-list invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/heap.h"
#include "check.h"

#define ARENA (1 << 20)

int main(void)
{
	void *arena = malloc(ARENA);
	struct heap h;
	heap_init(&h, arena, ARENA);
	size_t all = heap_check(&h);
	CHECK(all > ARENA - 64 && all <= ARENA);

	void *a = heap_alloc(&h, 100, 0);
	void *b = heap_alloc(&h, 5000, 4096);
	void *c = heap_alloc(&h, 1, 64);
	CHECK(a && b && c);
	CHECK((uintptr_t)a % HEAP_ALIGN == 0);
	CHECK((uintptr_t)b % 4096 == 0);
	CHECK((uintptr_t)c % 64 == 0);
	CHECK(heap_block_size(b) >= 5000);
	memset(a, 1, 100);
	memset(b, 2, 5000);
	memset(c, 3, 1);
	CHECK(heap_alloc(&h, 100, 3) == NULL);          /* bad alignment */
	CHECK(heap_alloc(&h, ARENA, 0) == NULL);        /* too big */
	CHECK(h.failures == 2);
	heap_free(&h, b);
	heap_free(&h, a);
	heap_free(&h, c);
	heap_free(&h, c);                               /* double free ignored */
	heap_free(&h, NULL);
	CHECK(heap_check(&h) == all);                   /* all merged back */
	CHECK(h.used == 0);

	/* Storm. */
	void *ptrs[256] = { 0 };
	size_t sizes[256] = { 0 };
	srand(42);
	for (int round = 0; round < 100000; round++) {
		int i = rand() % 256;
		if (ptrs[i]) {
			unsigned char *p = ptrs[i];
			for (size_t k = 0; k < sizes[i]; k++)
				if (p[k] != (unsigned char)i) {
					CHECK(!"block contents damaged");
					break;
				}
			heap_free(&h, ptrs[i]);
			ptrs[i] = NULL;
		} else {
			sizes[i] = (size_t)(rand() % 3000);
			ptrs[i] = heap_alloc(&h, sizes[i], (size_t)16 << (rand() % 5));
			if (ptrs[i])
				memset(ptrs[i], i, sizes[i]);
		}
		if (round % 1000 == 0)
			CHECK(heap_check(&h) != (size_t)-1);
	}
	for (int i = 0; i < 256; i++)
		heap_free(&h, ptrs[i]);
	CHECK(heap_check(&h) == all);
	CHECK(h.used == 0);
	free(arena);
	return CHECK_DONE("heap");
}
