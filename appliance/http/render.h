/* render.h - the JSON and Prometheus texts of API.md section 3, rendered
 * from plain snapshots. Pure: no hardware, no allocation; the host unit
 * tests parse what it writes. */
#ifndef APPLIANCE_RENDER_H
#define APPLIANCE_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../kernel/kheap.h"
#include "../../lwip_port/net.h"
#include "../../smp/sched.h"
#include "../../smp/smp.h"
#include "../jobs/jobs.h"
#include "../udp_compute/udp_compute.h"

/* Everything /api/status and /metrics show, read at one moment. */
struct status_snap {
	uint64_t uptime_us;
	int ncores;
	const struct sched_core_stats *cores;   /* ncores of them, online ones */
	struct sched_stats sched;
	struct smp_stats smp;
	struct job_counters jobs;
	uint64_t bad;           /* requests refused as malformed, UDP and HTTP */
	struct udp_compute_stats udp;
	struct {
		uint64_t open, refused, reset;  /* connections now; turned away; of those, reset */
	} http;
	struct net_stats net;
	struct kheap_stats mem;
};

/* Bounded text building: appends, remembers when it ran out of room. */
struct outbuf {
	char *buf;
	size_t size, len;
	bool overflow;
};

void out_init(struct outbuf *o, char *buf, size_t size);
void out_printf(struct outbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void render_status(struct outbuf *o, const struct status_snap *s);
void render_metrics(struct outbuf *o, const struct status_snap *s);
void render_job(struct outbuf *o, const struct job_info *j);
/* {"error":"<msg>"} with msg JSON-escaped. */
void render_error(struct outbuf *o, const char *msg);

#endif
