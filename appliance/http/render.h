/* render.h - the JSON and Prometheus texts of API.md section 3, rendered
 * from plain snapshots. Pure: no hardware, no allocation; the host unit
 * tests parse what it writes. */
#ifndef APPLIANCE_RENDER_H
#define APPLIANCE_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../jobs/jobs.h"

#define RENDER_MAX_CORES 64

struct core_snap {
	int id;
	uint32_t apic_id;
	bool bsp;
	int state;              /* 0 idle, 1 busy, 2 halted (enum cpu_state) */
	uint64_t halts, wakes, tasks_done, busy_us;
};

struct status_snap {
	uint64_t uptime_us;
	int ncores;
	struct core_snap cores[RENDER_MAX_CORES];
	uint64_t queue_depth, queue_capacity;
	struct job_counters jobs;
	struct {
		bool present, link_up;
		uint64_t rx_packets, rx_bytes, rx_drops;
		uint64_t tx_packets, tx_bytes, tx_drops, tx_ring_full, irqs;
	} net;
	struct {
		uint64_t heap_total, heap_used, heap_peak, heap_failures;
	} mem;
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
