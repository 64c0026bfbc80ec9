/* status.c - the status document: the snapshot taken through the
 * sources given at init, its rendering with room that grows with the
 * core count, and the signature the event streams watch. Knows the
 * sources' types, not the sources. */
#include "status.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "outbuf.h"
#include "render.h"

/* A first guess of the room a rendering needs: a fixed part and a line
 * per core (out_render doubles it while it runs out). */
#define STATUS_FIXED     2048
#define STATUS_PER_CORE  160
#define METRICS_FIXED    4096
#define METRICS_PER_CORE 320

static struct status_sources src;
static uint64_t bad;            /* requests the control plane refused as malformed */

void status_init(const struct status_sources *s)
{
	src = *s;
}

void status_count_bad(void)
{
	bad++;
}

/* The one reading of what counts as a change; sched is the scheduler's
 * figures it came from (the snapshot keeps them). */
static void read_changes(struct status_changes *ch, struct sched_stats *sched)
{
	memset(ch, 0, sizeof(*ch));     /* padding too: the signature hashes the bytes */
	memset(sched, 0, sizeof(*sched));
	if (src.sched)
		src.sched(sched);
	ch->online = sched->online;
	ch->halted_aps = sched->halted_aps;
	ch->queue_depth = sched->queue_depth;
	if (src.jobs)
		src.jobs(&ch->jobs);
	if (src.udp)
		src.udp(&ch->udp);
	struct http_stats hs;
	http_stats(&hs);
	ch->http.refused = hs.refused;
	ch->http.reset = hs.reset;
	ch->http.timed_out = hs.timed_out;
	ch->http.stalled = hs.stalled;
	ch->bad = bad + hs.bad + ch->udp.bad;
}

bool status_snapshot(struct status_snap *s)
{
	memset(s, 0, sizeof(*s));
	read_changes(&s->ch, &s->sched);
	if (src.uptime_us)
		s->uptime_us = src.uptime_us();
	if (src.chunks)
		src.chunks(&s->chunks);
	if (src.smp)
		src.smp(&s->smp);
	int n = s->sched.ncores > 0 ? s->sched.ncores : 0;
	struct sched_core_stats *cores = calloc((size_t)(n ? n : 1), sizeof(*cores));
	if (!cores)
		return false;
	int k = 0;
	for (int i = 0; i < n && src.core; i++) {
		src.core(i, &cores[k]);
		if (cores[k].online)
			k++;
	}
	s->cores = cores;
	s->ncores = k;
	struct http_stats hs;
	http_stats(&hs);
	s->http_open = hs.open;
	if (src.net)
		src.net(&s->net);
	if (src.heap)
		src.heap(&s->mem);
	return true;
}

void status_release(struct status_snap *s)
{
	free((void *)s->cores);
	s->cores = NULL;
}

static void r_status(struct outbuf *o, const void *s)
{
	render_status(o, s);
}

static void r_metrics(struct outbuf *o, const void *s)
{
	render_metrics(o, s);
}

char *status_render(const struct status_snap *s, enum status_format f, size_t *len)
{
	if (f == STATUS_METRICS)
		return out_render(METRICS_FIXED + (size_t)s->ncores * METRICS_PER_CORE, r_metrics, s,
				  len);
	return out_render(STATUS_FIXED + (size_t)s->ncores * STATUS_PER_CORE, r_status, s, len);
}

uint64_t status_signature(bool *active)
{
	struct status_changes ch;
	struct sched_stats sched;
	read_changes(&ch, &sched);
	const unsigned char *p = (const unsigned char *)&ch;
	uint64_t h = 0xcbf29ce484222325ULL;            /* FNV-1a */
	for (size_t i = 0; i < sizeof(ch); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	*active = ch.jobs.running > 0 || ch.halted_aps < ch.online - 1;
	return h;
}
