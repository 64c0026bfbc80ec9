/* outbuf.c - bounded text building (outbuf.h). */
#include "outbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void out_init(struct outbuf *o, char *buf, size_t size)
{
	o->buf = buf;
	o->size = size;
	o->len = 0;
	o->overflow = false;
	if (size)
		buf[0] = '\0';
}

void out_printf(struct outbuf *o, const char *fmt, ...)
{
	if (o->overflow)
		return;
	if (!o->size) {
		o->overflow = true;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->overflow = true;
		o->buf[o->len] = '\0';
		return;
	}
	o->len += (size_t)n;
}

void out_write(struct outbuf *o, const void *data, size_t len)
{
	if (o->overflow)
		return;
	/* Room for a NUL after the bytes, as out_printf keeps. */
	if (len >= o->size - o->len) {
		o->overflow = true;
		if (o->size)
			o->buf[o->len] = '\0';
		return;
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	o->buf[o->len] = '\0';
}

char *out_render(size_t size, void (*render)(struct outbuf *o, const void *arg), const void *arg,
		 size_t *len)
{
	if (!size)
		size = 64;
	for (int tries = 0; tries < OUT_RENDER_TRIES; tries++, size *= 2) {
		char *buf = malloc(size);
		if (!buf)
			return NULL;
		struct outbuf o;
		out_init(&o, buf, size);
		render(&o, arg);
		if (!o.overflow) {
			*len = o.len;
			return buf;
		}
		free(buf);
	}
	return NULL;
}
