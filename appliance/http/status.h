/* status.h - the status document of API.md section 3, behind /api/status,
 * /metrics and the `status` event of /api/events: a snapshot (snapshot.h)
 * taken through the sources given at init, rendered by render.c, and the
 * cheap signature the event streams watch. BSP only. */
#ifndef APPLIANCE_STATUS_H
#define APPLIANCE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

/* Where the figures come from, given by the composition root (main.c,
 * through api_init). Each may be NULL: its figures read 0. */
struct status_sources {
	uint64_t (*uptime_us)(void);
	void (*sched)(struct sched_stats *s);
	void (*core)(int i, struct sched_core_stats *s);        /* 0 <= i < sched's ncores */
	void (*chunks)(struct sched_chunk_stats *s);
	void (*smp)(struct smp_stats *s);
	void (*jobs)(struct job_counters *c);
	void (*net)(struct net_stats *s);
	void (*heap)(struct kheap_stats *s);
	void (*udp)(struct udp_compute_stats *s);
};

void status_init(const struct status_sources *src);
/* A request the control plane refused as malformed (jobs.bad). */
void status_count_bad(void);
/* Takes the snapshot; s->cores is allocated: status_release. False: no
 * memory. */
bool status_snapshot(struct status_snap *s);
void status_release(struct status_snap *s);

enum status_format { STATUS_JSON, STATUS_METRICS };
/* The snapshot rendered into a malloc'ed buffer of *len bytes (JSON ends
 * with a newline and has no other). NULL: no memory. */
char *status_render(const struct status_snap *s, enum status_format f, size_t *len);

/* Moves whenever struct status_changes moves (a hash of it: a read of a
 * few counters and one word per 64 cores). *active: work is under way
 * (jobs in flight or an AP not halted); the cores' busy time and task
 * counts move then without the signature moving. */
uint64_t status_signature(bool *active);

#endif
