/* outbuf.h - bounded text building: a buffer that is appended to with
 * printf formats and remembers when it ran out of room, and the one loop
 * that renders into a heap buffer, doubling the room until the text
 * fits. A leaf: no layer below it but the C library. Pure: also built
 * into the host unit tests and fuzzers. */
#ifndef APPLIANCE_OUTBUF_H
#define APPLIANCE_OUTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct outbuf {
	char *buf;
	size_t size, len;
	bool overflow;          /* something did not fit: buf holds what did */
};

void out_init(struct outbuf *o, char *buf, size_t size);
void out_printf(struct outbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* len bytes as they are (they may hold NULs). */
void out_write(struct outbuf *o, const void *data, size_t len);

/* The text render writes, in a malloc'ed buffer of *len bytes (and a NUL
 * after them): size bytes are tried first (an estimate), then twice as
 * many, up to OUT_RENDER_TRIES times. NULL: no memory, or the text did
 * not fit in the last try. */
#define OUT_RENDER_TRIES 4
char *out_render(size_t size, void (*render)(struct outbuf *o, const void *arg), const void *arg,
		 size_t *len);

#endif
