/* fmt.h - a small printf formatter (pure: builds for the image and the host
 * tests). Supports %d %i %u %x %X %o %c %s %p %% with flags '-', '0',
 * width, precision for %s, and the length modifiers l, ll, z, h, hh. */
#ifndef KERNEL_FMT_H
#define KERNEL_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Calls out(c, arg) for every character produced; returns the count. */
int fmt_format(void (*out)(char c, void *arg), void *arg, const char *fmt, va_list ap);

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
