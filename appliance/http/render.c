/* render.c - JSON and Prometheus text from snapshots (API.md section 3).
 * Field names and order follow the spec's examples. */
#include "render.h"

static const char *const core_state[] = { "idle", "busy", "halted" };

/* The bucket bound (us) under which pct % of the chunks ended: a power
 * of two, from the chunks' histogram; 0 before any chunk ran. */
static uint64_t chunk_quantile_us(const struct status_snap *s, unsigned pct)
{
	uint64_t total = 0, seen = 0;
	for (int b = 0; b < SCHED_CHUNK_BUCKETS; b++)
		total += s->chunks.hist[b];
	for (int b = 0; b < SCHED_CHUNK_BUCKETS && total; b++) {
		seen += s->chunks.hist[b];
		if (seen * 100 >= total * pct)
			return 1ULL << b;
	}
	return 0;
}

void render_status(struct outbuf *o, const struct status_snap *s)
{
	out_printf(o, "{\"uptime_us\":%lu,\"cores\":[", (unsigned long)s->uptime_us);
	for (int i = 0; i < s->ncores; i++) {
		const struct sched_core_stats *c = &s->cores[i];
		out_printf(o, "%s{\"id\":%d,\"apic_id\":%u,\"role\":\"%s\",\"state\":\"%s\","
			   "\"halts\":%lu,\"wakes\":%lu,\"tasks_done\":%lu,\"chunks_done\":%lu,"
			   "\"busy_us\":%lu}",
			   i ? "," : "", c->id, c->apic_id, c->bsp ? "bsp" : "ap",
			   core_state[c->state >= 0 && c->state <= 2 ? c->state : 0],
			   (unsigned long)c->halts, (unsigned long)c->wakes,
			   (unsigned long)c->tasks_done, (unsigned long)c->chunks_done,
			   (unsigned long)(c->busy_ns / 1000));
	}
	out_printf(o, "],\"sched\":\"%s\",\"chunk_max_us\":%lu,\"chunk_p99_us\":%lu,",
		   s->sched.policy, (unsigned long)(s->chunks.max_ns / 1000),
		   (unsigned long)chunk_quantile_us(s, 99));
	out_printf(o, "\"queue\":{\"depth\":%lu,\"capacity\":%lu},",
		   (unsigned long)s->ch.queue_depth, (unsigned long)s->ch.jobs.tasks_capacity);
	out_printf(o, "\"smp\":{\"discovered\":%d,\"online\":%d,\"parked\":%d},",
		   s->smp.discovered, s->smp.online, s->smp.parked);
	out_printf(o, "\"bsp\":{\"serve_gap_max_us\":%lu},",
		   (unsigned long)(s->sched.bsp_serve_gap_max_ns / 1000));
	out_printf(o, "\"jobs\":{\"accepted\":%lu,\"running\":%lu,\"done\":%lu,\"cancelled\":%lu,"
		   "\"rejected\":%lu,\"bad\":%lu,\"too_big\":%lu},",
		   (unsigned long)s->ch.jobs.accepted, (unsigned long)s->ch.jobs.running,
		   (unsigned long)s->ch.jobs.done, (unsigned long)s->ch.jobs.cancelled,
		   (unsigned long)s->ch.jobs.rejected, (unsigned long)s->ch.bad,
		   (unsigned long)s->ch.jobs.too_big);
	out_printf(o, "\"net\":{\"link\":\"%s\",\"rx_packets\":%lu,\"rx_bytes\":%lu,"
		   "\"rx_drops\":%lu,\"tx_packets\":%lu,\"tx_bytes\":%lu,\"tx_drops\":%lu,"
		   "\"tx_ring_full\":%lu,\"irqs\":%lu},",
		   !s->net.present ? "none" : s->net.link_up ? "up" : "down",
		   (unsigned long)s->net.dev.rx_packets, (unsigned long)s->net.dev.rx_bytes,
		   (unsigned long)s->net.dev.rx_drops, (unsigned long)s->net.dev.tx_packets,
		   (unsigned long)s->net.dev.tx_bytes, (unsigned long)s->net.dev.tx_drops,
		   (unsigned long)s->net.dev.tx_ring_full, (unsigned long)s->net.dev.irqs);
	out_printf(o, "\"lwip\":{\"pbuf_pool_used\":%u,\"pbuf_pool_size\":%u,"
		   "\"pbuf_pool_exhausted\":%u,\"tcp_pcbs\":%u,\"tcp_segs\":%u,\"arp_queued\":%u,"
		   "\"heap_used_bytes\":%u,\"heap_bytes\":%u,\"arp_drops\":%lu,\"ip_drops\":%lu,"
		   "\"udp_drops\":%lu,\"tcp_drops\":%lu,\"tcp_half_open_drops\":%lu,"
		   "\"tcp_closed_cut\":%lu},",
		   s->net.pbuf_pool_used, s->net.pbuf_pool_size, s->net.pbuf_pool_err,
		   s->net.tcp_pcbs_used, s->net.tcp_segs_used, s->net.arp_queue_used,
		   s->net.heap_used, s->net.heap_size, (unsigned long)s->net.arp_drops,
		   (unsigned long)s->net.ip_drops, (unsigned long)s->net.udp_drops,
		   (unsigned long)s->net.tcp_drops, (unsigned long)s->net.tcp_half_open_drops,
		   (unsigned long)s->net.tcp_closed_cut);
	out_printf(o, "\"http\":{\"open\":%lu,\"refused\":%lu,\"reset\":%lu,\"timed_out\":%lu,"
		   "\"stalled\":%lu},",
		   (unsigned long)s->http_open, (unsigned long)s->ch.http.refused,
		   (unsigned long)s->ch.http.reset, (unsigned long)s->ch.http.timed_out,
		   (unsigned long)s->ch.http.stalled);
	out_printf(o, "\"udp\":{\"bad\":%lu,\"busy\":%lu,\"replies_lost\":%lu,\"denied\":%lu,"
		   "\"too_big\":%lu},",
		   (unsigned long)s->ch.udp.bad, (unsigned long)s->ch.udp.busy,
		   (unsigned long)s->ch.udp.replies_lost, (unsigned long)s->ch.udp.denied,
		   (unsigned long)s->ch.udp.too_big);
	out_printf(o, "\"memory\":{\"heap_bytes\":%lu,\"heap_used_bytes\":%lu,"
		   "\"heap_peak_bytes\":%lu,\"heap_failures\":%lu}}\n",
		   (unsigned long)s->mem.total, (unsigned long)s->mem.used,
		   (unsigned long)s->mem.peak, (unsigned long)s->mem.failures);
}

static void metric_head(struct outbuf *o, const char *name, const char *type, const char *help)
{
	out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void per_core(struct outbuf *o, const struct status_snap *s, const char *name,
		     const char *help, int which)
{
	metric_head(o, name, "counter", help);
	for (int i = 0; i < s->ncores; i++) {
		const struct sched_core_stats *c = &s->cores[i];
		if (which == 4) {
			uint64_t us = c->busy_ns / 1000;
			out_printf(o, "%s{core=\"%d\"} %lu.%06lu\n", name, c->id,
				   (unsigned long)(us / 1000000), (unsigned long)(us % 1000000));
			continue;
		}
		uint64_t v = which == 0 ? c->halts : which == 1 ? c->wakes :
			     which == 2 ? c->tasks_done : c->chunks_done;
		out_printf(o, "%s{core=\"%d\"} %lu\n", name, c->id, (unsigned long)v);
	}
}

void render_metrics(struct outbuf *o, const struct status_snap *s)
{
	per_core(o, s, "appliance_core_halts_total", "Times the core entered HLT.", 0);
	per_core(o, s, "appliance_core_wakes_total", "Times the core left HLT.", 1);
	per_core(o, s, "appliance_core_tasks_total", "Tasks whose last chunk the core ran.", 2);
	per_core(o, s, "appliance_core_chunks_total", "Chunks the core ran to completion.", 3);
	per_core(o, s, "appliance_core_busy_seconds_total", "Time the core spent in chunks.", 4);
	metric_head(o, "appliance_sched_info", "gauge", "How the cores share the work (sched=).");
	out_printf(o, "appliance_sched_info{policy=\"%s\"} 1\n", s->sched.policy);
	metric_head(o, "appliance_chunk_duration_seconds", "histogram",
		    "Chunks by how long they ran, all cores.");
	uint64_t cum = 0;
	for (int b = 0; b < SCHED_CHUNK_BUCKETS - 1; b++) {
		cum += s->chunks.hist[b];
		uint64_t le_us = 1ULL << b;
		out_printf(o, "appliance_chunk_duration_seconds_bucket{le=\"%lu.%06lu\"} %lu\n",
			   (unsigned long)(le_us / 1000000), (unsigned long)(le_us % 1000000),
			   (unsigned long)cum);
	}
	cum += s->chunks.hist[SCHED_CHUNK_BUCKETS - 1];
	uint64_t busy_us = 0;
	for (int i = 0; i < s->ncores; i++)
		busy_us += s->cores[i].busy_ns / 1000;
	out_printf(o, "appliance_chunk_duration_seconds_bucket{le=\"+Inf\"} %lu\n"
		   "appliance_chunk_duration_seconds_sum %lu.%06lu\n"
		   "appliance_chunk_duration_seconds_count %lu\n", (unsigned long)cum,
		   (unsigned long)(busy_us / 1000000), (unsigned long)(busy_us % 1000000),
		   (unsigned long)cum);
	metric_head(o, "appliance_chunk_max_seconds", "gauge", "The longest chunk any core ran.");
	out_printf(o, "appliance_chunk_max_seconds %lu.%09lu\n",
		   (unsigned long)(s->chunks.max_ns / 1000000000),
		   (unsigned long)(s->chunks.max_ns % 1000000000));
	metric_head(o, "appliance_queue_depth", "gauge", "Tasks of the jobs in flight not yet started.");
	out_printf(o, "appliance_queue_depth %lu\n", (unsigned long)s->ch.queue_depth);
	metric_head(o, "appliance_queue_capacity", "gauge", "Tasks admitted at most.");
	out_printf(o, "appliance_queue_capacity %lu\n", (unsigned long)s->ch.jobs.tasks_capacity);
	metric_head(o, "appliance_jobs_total", "counter", "Jobs by outcome.");
	out_printf(o, "appliance_jobs_total{state=\"accepted\"} %lu\n", (unsigned long)s->ch.jobs.accepted);
	out_printf(o, "appliance_jobs_total{state=\"done\"} %lu\n", (unsigned long)s->ch.jobs.done);
	out_printf(o, "appliance_jobs_total{state=\"cancelled\"} %lu\n", (unsigned long)s->ch.jobs.cancelled);
	out_printf(o, "appliance_jobs_total{state=\"rejected\"} %lu\n", (unsigned long)s->ch.jobs.rejected);
	out_printf(o, "appliance_jobs_total{state=\"bad\"} %lu\n", (unsigned long)s->ch.bad);
	out_printf(o, "appliance_jobs_total{state=\"too_big\"} %lu\n", (unsigned long)s->ch.jobs.too_big);
	metric_head(o, "appliance_jobs_running", "gauge", "Jobs queued or running.");
	out_printf(o, "appliance_jobs_running %lu\n", (unsigned long)s->ch.jobs.running);
	metric_head(o, "appliance_uptime_seconds", "gauge", "Time since boot.");
	out_printf(o, "appliance_uptime_seconds %lu.%06lu\n", (unsigned long)(s->uptime_us / 1000000),
		   (unsigned long)(s->uptime_us % 1000000));
	const struct { const char *name, *help; uint64_t v; } net[] = {
		{ "appliance_net_rx_packets_total", "Frames received.", s->net.dev.rx_packets },
		{ "appliance_net_rx_bytes_total", "Bytes received.", s->net.dev.rx_bytes },
		{ "appliance_net_rx_drops_total", "Received frames dropped.", s->net.dev.rx_drops },
		{ "appliance_net_tx_packets_total", "Frames sent.", s->net.dev.tx_packets },
		{ "appliance_net_tx_bytes_total", "Bytes sent.", s->net.dev.tx_bytes },
		{ "appliance_net_tx_drops_total", "Frames not sent.", s->net.dev.tx_drops },
		{ "appliance_net_tx_ring_full_total", "Times the TX ring was full.", s->net.dev.tx_ring_full },
		{ "appliance_net_irqs_total", "NIC interrupts.", s->net.dev.irqs },
		{ "appliance_lwip_pbuf_pool_exhausted_total", "Times lwIP's receive pool ran dry.",
		  s->net.pbuf_pool_err },
		{ "appliance_lwip_arp_drops_total", "Packets dropped by ARP (also unresolved).",
		  s->net.arp_drops },
		{ "appliance_lwip_ip_drops_total", "IP packets dropped.", s->net.ip_drops },
		{ "appliance_lwip_udp_drops_total", "UDP datagrams dropped.", s->net.udp_drops },
		{ "appliance_lwip_tcp_drops_total", "TCP segments dropped.", s->net.tcp_drops },
		{ "appliance_lwip_tcp_half_open_drops_total",
		  "Half-open TCP connections given up, and SYNs refused.", s->net.tcp_half_open_drops },
		{ "appliance_lwip_tcp_closed_cut_total",
		  "Closed TCP connections reset after 20 s with bytes unacknowledged.",
		  s->net.tcp_closed_cut },
		{ "appliance_http_refused_total", "HTTP connections answered 503: all in use.",
		  s->ch.http.refused },
		{ "appliance_http_reset_total", "HTTP connections reset: no room even for a 503.",
		  s->ch.http.reset },
		{ "appliance_http_timed_out_total",
		  "HTTP requests answered 408: not in within 10 s of their first byte.",
		  s->ch.http.timed_out },
		{ "appliance_http_stalled_total",
		  "HTTP connections cut: their client stopped reading what was sent.",
		  s->ch.http.stalled },
		{ "appliance_udp_bad_total", "UDP requests refused as malformed.", s->ch.udp.bad },
		{ "appliance_udp_busy_total", "UDP requests refused as the appliance was full.",
		  s->ch.udp.busy },
		{ "appliance_udp_replies_lost_total", "UDP replies that could not be sent.",
		  s->ch.udp.replies_lost },
		{ "appliance_udp_denied_total", "UDP datagrams from outside udp_allow, unanswered.",
		  s->ch.udp.denied },
	};
	for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++) {
		metric_head(o, net[i].name, "counter", net[i].help);
		out_printf(o, "%s %lu\n", net[i].name, (unsigned long)net[i].v);
	}
	metric_head(o, "appliance_memory_heap_bytes", "gauge", "Heap size.");
	out_printf(o, "appliance_memory_heap_bytes %lu\n", (unsigned long)s->mem.total);
	metric_head(o, "appliance_memory_heap_used_bytes", "gauge", "Heap in use.");
	out_printf(o, "appliance_memory_heap_used_bytes %lu\n", (unsigned long)s->mem.used);
	const struct { const char *name, *help; uint64_t v; } gauges[] = {
		{ "appliance_lwip_pbuf_pool_used", "Receive pool buffers in use.", s->net.pbuf_pool_used },
		{ "appliance_lwip_tcp_pcbs", "TCP connections (PCBs) in use.", s->net.tcp_pcbs_used },
		{ "appliance_lwip_tcp_segs", "TCP segments queued.", s->net.tcp_segs_used },
		{ "appliance_lwip_arp_queued", "Packets waiting for ARP.", s->net.arp_queue_used },
		{ "appliance_lwip_heap_used_bytes", "lwIP heap in use.", s->net.heap_used },
	};
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++) {
		metric_head(o, gauges[i].name, "gauge", gauges[i].help);
		out_printf(o, "%s %lu\n", gauges[i].name, (unsigned long)gauges[i].v);
	}
}

void render_job(struct outbuf *o, const struct job_info *j)
{
	out_printf(o, "{\"id\":%lu,\"state\":\"%s\",\"limit\":%lu,\"tasks\":%u,\"mode\":\"%s\",",
		   (unsigned long)j->id, job_state_name(j->state), (unsigned long)j->spec.limit,
		   j->spec.tasks, job_mode_name(j->spec.mode));
	if (j->has_result)
		out_printf(o, "\"result\":%lu,", (unsigned long)j->result);
	else
		out_printf(o, "\"result\":null,");
	out_printf(o, "\"submitted_us\":%lu,\"elapsed_us\":%lu}", (unsigned long)(j->submitted_ns / 1000),
		   (unsigned long)(j->elapsed_ns / 1000));
}
