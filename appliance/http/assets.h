/* assets.h - the dashboard's static files (web/), embedded at build time
 * by tools/embed_web.py into build/gen/web_assets.c. Each has its content
 * type and a strong ETag (a hash of its bytes), so a reload revalidates
 * with If-None-Match and gets 304 instead of the file again. */
#ifndef APPLIANCE_ASSETS_H
#define APPLIANCE_ASSETS_H

#include <stddef.h>

struct asset {
	const char *path;               /* "/", "/app.js", ... */
	const char *ctype;              /* "text/html; charset=utf-8", ... */
	const char *etag;               /* quoted, e.g. "\"3f2a...\"" */
	const unsigned char *data;
	size_t len;
};

/* The asset served at path, or NULL. */
const struct asset *assets_find(const char *path);
/* Total bytes of all assets (the image growth the dashboard costs). */
size_t assets_total_bytes(void);

#endif
