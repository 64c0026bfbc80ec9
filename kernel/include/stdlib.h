/* stdlib.h - the kernel heap (kernel/kheap.c) and a few helpers. */
#ifndef _KERNEL_STDLIB_H
#define _KERNEL_STDLIB_H
#include <stddef.h>
void *malloc(size_t n);
void *calloc(size_t count, size_t n);
void *realloc(void *p, size_t n);
void free(void *p);
int atoi(const char *s);
void abort(void) __attribute__((noreturn));
#endif
