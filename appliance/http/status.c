/* status.c - the status document: snapshot, rendering with room that
 * grows with the core count, and the cheap signature the events stream
 * watches. */
#include "status.h"

#include <stdlib.h>
#include <string.h>

#include "../../kernel/kheap.h"
#include "../../kernel/time.h"
#include "../../lwip_port/net.h"
#include "../../smp/sched.h"
#include "../../smp/smp.h"
#include "../jobs/jobs.h"
#include "http.h"

/* Room for a rendering: a fixed part and a line per core (doubled while
 * it runs out, a few times at most). */
#define STATUS_FIXED     2048
#define STATUS_PER_CORE  160
#define METRICS_FIXED    4096
#define METRICS_PER_CORE 320

static void (*udp_stats)(struct udp_compute_stats *s);
static uint64_t bad;            /* requests the control plane refused as malformed */

void status_init(void (*udp)(struct udp_compute_stats *s))
{
	udp_stats = udp;
}

void status_count_bad(void)
{
	bad++;
}

bool status_snapshot(struct status_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->uptime_us = time_us();
	sched_stats(&s->sched);
	smp_stats(&s->smp);
	struct sched_core_stats *cores = calloc((size_t)s->sched.ncores, sizeof(*cores));
	if (!cores)
		return false;
	int k = 0;
	for (int i = 0; i < s->sched.ncores; i++) {
		sched_core_stats(i, &cores[k]);
		if (cores[k].online)
			k++;
	}
	s->cores = cores;
	s->ncores = k;
	jobs_counters(&s->jobs);
	struct http_stats hs;
	http_stats(&hs);
	if (udp_stats)
		udp_stats(&s->udp);
	s->bad = bad + hs.bad + s->udp.bad;
	s->http.open = hs.open;
	s->http.refused = hs.refused;
	s->http.reset = hs.reset;
	net_stats(&s->net);
	kheap_stats(&s->mem);
	return true;
}

void status_release(struct status_snap *s)
{
	free((void *)s->cores);
	s->cores = NULL;
}

char *status_render(const struct status_snap *s, enum status_format f, size_t *len)
{
	size_t size = f == STATUS_METRICS ? METRICS_FIXED + (size_t)s->ncores * METRICS_PER_CORE :
		      STATUS_FIXED + (size_t)s->ncores * STATUS_PER_CORE;
	for (int tries = 0; tries < 4; tries++, size *= 2) {
		char *buf = malloc(size);
		if (!buf)
			return NULL;
		struct outbuf o;
		out_init(&o, buf, size);
		if (f == STATUS_METRICS)
			render_metrics(&o, s);
		else
			render_status(&o, s);
		if (!o.overflow) {
			*len = o.len;
			return buf;
		}
		free(buf);
	}
	return NULL;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;     /* FNV-1a, a word at a time */
}

uint64_t status_signature(bool *active)
{
	struct sched_stats ss;
	struct job_counters jc;
	struct http_stats hs;
	struct udp_compute_stats us = { 0 };
	sched_stats(&ss);
	jobs_counters(&jc);
	http_stats(&hs);
	if (udp_stats)
		udp_stats(&us);
	uint64_t h = 0xcbf29ce484222325ULL;
	h = mix(h, (uint64_t)ss.online);
	h = mix(h, (uint64_t)ss.halted_aps);
	h = mix(h, ss.queue_depth);
	h = mix(h, jc.accepted);
	h = mix(h, jc.running);
	h = mix(h, jc.done);
	h = mix(h, jc.cancelled);
	h = mix(h, jc.rejected);
	h = mix(h, bad + hs.bad + us.bad);
	h = mix(h, us.busy);
	h = mix(h, hs.refused);
	*active = jc.running > 0 || ss.halted_aps < ss.online - 1;
	return h;
}
