/* snapshot.h - the status document's figures (API.md section 3), read at
 * one moment: what /api/status, /metrics and the `status` event show.
 * The one owner of that shape: status.c fills it from the sources it is
 * given at init, render.c writes it out, and the event streams watch its
 * `changes` part. Types only; the sources' own stats structs are kept
 * whole, so a figure a source adds reaches the document without being
 * copied by hand. */
#ifndef APPLIANCE_SNAPSHOT_H
#define APPLIANCE_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "../../kernel/kheap.h"
#include "../../lwip_port/net.h"
#include "../../smp/sched.h"
#include "../../smp/smp.h"
#include "../jobs/jobs.h"
#include "../udp_compute/udp_compute.h"

/* What counts as a change for the event streams: the signature
 * (status.h) is a hash of this whole structure, and the renderer reads
 * these figures from here, so a counter added here is rendered and
 * watched at once. Not the uptime, the network counters, the cores'
 * busy time nor the BSP's own wake-ups, which every event itself
 * moves. */
struct status_changes {
	int32_t online;                 /* cores that started */
	int32_t halted_aps;             /* APs in HLT and not being woken */
	uint64_t queue_depth;           /* tasks of the jobs in flight not yet started */
	struct job_counters jobs;
	struct udp_compute_stats udp;
	uint64_t bad;                   /* requests refused as malformed, UDP and HTTP */
	struct {
		uint64_t refused;       /* turned away 503: every connection in use */
		uint64_t reset;         /* of those, reset: not even room for the 503 */
		uint64_t timed_out;     /* answered 408: a request not in within its time */
		uint64_t stalled;       /* cut: their client stopped reading */
	} http;
};

/* Everything the document shows. */
struct status_snap {
	struct status_changes ch;
	uint64_t uptime_us;
	int ncores;                             /* online ones, in cores */
	const struct sched_core_stats *cores;   /* status.c allocates it */
	struct sched_stats sched;               /* its policy and BSP figures */
	struct sched_chunk_stats chunks;        /* how long chunks ran */
	struct smp_stats smp;
	uint32_t http_open;                     /* connections now */
	struct net_stats net;
	struct kheap_stats mem;
};

#endif
