/* status.h - the status document of API.md section 3, behind /api/status,
 * /metrics and the `status` event of /api/events: a snapshot of the cores,
 * queue, jobs, network and heap taken through their owners' stats calls,
 * rendered by render.c. BSP only. */
#ifndef APPLIANCE_STATUS_H
#define APPLIANCE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "render.h"

void status_init(void (*udp_stats)(struct udp_compute_stats *s));
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

/* Moves whenever something the events stream must report moves: a core
 * halting or being woken, the queue, the job counters, refused and
 * malformed requests. Not the uptime, the network counters or the BSP's
 * own wake-ups, which each event itself moves. A read of a few counters
 * and one word per 64 cores. */
uint64_t status_signature(bool *active);
/* *active: work is under way (jobs in flight or an AP not halted); the
 * cores' busy time and task counts move then without the signature
 * moving. */

#endif
