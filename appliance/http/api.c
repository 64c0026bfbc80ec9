/* api.c - the control plane's routes (API.md section 3): status, metrics,
 * jobs. Collects a snapshot of the cores, queue, job counters, NIC and
 * heap, and renders it with render.c. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/kheap.h"
#include "../../kernel/time.h"
#include "../../lwip_port/net.h"
#include "../../smp/cpu.h"
#include "../../smp/sched.h"
#include "../jobs/jobs.h"
#include "httpreq.h"
#include "jobreq.h"
#include "render.h"

#define WAIT_MAX_NS     (60ULL * 1000000000ULL)
#define LIST_DEFAULT    100
#define LIST_MAX        1000
#define JSON            "application/json"

static void snapshot(struct status_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->uptime_us = time_us();
	s->ncores = ncpus < RENDER_MAX_CORES ? ncpus : RENDER_MAX_CORES;
	int k = 0;
	for (int i = 0; i < s->ncores; i++) {
		const struct cpu *c = &cpus[i];
		if (!c->online)
			continue;
		struct core_snap *o = &s->cores[k++];
		o->id = c->index;
		o->apic_id = c->apic_id;
		o->bsp = c->bsp;
		o->state = __atomic_load_n(&c->state, __ATOMIC_RELAXED);
		o->halts = __atomic_load_n(&c->halts, __ATOMIC_RELAXED);
		o->wakes = __atomic_load_n(&c->wakes, __ATOMIC_RELAXED);
		o->tasks_done = __atomic_load_n(&c->tasks_done, __ATOMIC_RELAXED);
		o->busy_us = tsc_to_ns(__atomic_load_n(&c->busy_tsc, __ATOMIC_RELAXED)) / 1000;
	}
	s->ncores = k;
	s->cores[0].state = CPU_IDLE;   /* the BSP is answering this very request */
	s->queue_depth = sched_queue_depth();
	s->queue_capacity = sched_queue_capacity();
	jobs_counters(&s->jobs);
	struct netdev *nd = net_device();
	if (nd) {
		s->net.present = true;
		s->net.link_up = nd->ops->link_up(nd);
		s->net.rx_packets = nd->stats.rx_packets;
		s->net.rx_bytes = nd->stats.rx_bytes;
		s->net.rx_drops = nd->stats.rx_drops;
		s->net.tx_packets = nd->stats.tx_packets;
		s->net.tx_bytes = nd->stats.tx_bytes;
		s->net.tx_drops = nd->stats.tx_drops;
		s->net.tx_ring_full = nd->stats.tx_ring_full;
		s->net.irqs = nd->stats.irqs;
	}
	struct kheap_stats hs;
	kheap_stats(&hs);
	s->mem.heap_total = hs.total;
	s->mem.heap_used = hs.used;
	s->mem.heap_peak = hs.peak;
	s->mem.heap_failures = hs.failures;
}

static void send_big(struct http_conn_ref ref, int status, const char *ctype,
		     void (*render)(struct outbuf *, const void *), const void *arg, size_t size)
{
	char *buf = malloc(size);
	if (!buf) {
		http_respond_error(ref, 503, "out of memory", "Retry-After: 1\r\n");
		return;
	}
	struct outbuf o;
	out_init(&o, buf, size);
	render(&o, arg);
	http_respond_out(ref, status, ctype, &o, NULL);
	free(buf);
}

static void r_status(struct outbuf *o, const void *s) { render_status(o, s); }
static void r_metrics(struct outbuf *o, const void *s) { render_metrics(o, s); }

static void get_status(struct http_conn_ref ref, int metrics)
{
	struct status_snap *s = malloc(sizeof(*s));
	if (!s) {
		http_respond_error(ref, 503, "out of memory", "Retry-After: 1\r\n");
		return;
	}
	snapshot(s);
	if (metrics)
		send_big(ref, 200, "text/plain; version=0.0.4", r_metrics, s, 32768);
	else
		send_big(ref, 200, JSON, r_status, s, 16384);
	free(s);
}

static void send_job(struct http_conn_ref ref, int status, const struct job_info *info,
		     const char *extra)
{
	char buf[384];
	struct outbuf o;
	out_init(&o, buf, sizeof(buf));
	render_job(&o, info);
	out_printf(&o, "\n");
	http_respond_out(ref, status, JSON, &o, extra);
}

struct list_ctx {
	struct outbuf *o;
	int n;
	int max;
};

static void list_one(const struct job_info *info, void *arg)
{
	struct list_ctx *lc = arg;
	out_printf(lc->o, "%s", lc->n++ ? "," : "");
	render_job(lc->o, info);
}

static void r_list(struct outbuf *o, const void *arg)
{
	struct list_ctx lc = { o, 0, *(const int *)arg };
	out_printf(o, "{\"jobs\":[");
	jobs_list(lc.max, list_one, &lc);
	out_printf(o, "]}\n");
}

static void get_jobs(struct http_conn_ref ref, const struct http_req *r)
{
	char v[16];
	int max = LIST_DEFAULT;
	int got = http_query_get(r->query, "limit", v, sizeof(v));
	if (got) {
		int n = 0;
		bool ok = got > 0 && v[0];
		for (const char *p = v; ok && *p; p++) {
			ok = *p >= '0' && *p <= '9' && n <= LIST_MAX;
			n = n * 10 + (*p - '0');
		}
		if (!ok || n < 1 || n > LIST_MAX) {
			jobs_count_bad();
			http_respond_error(ref, 400, "limit must be an integer 1..1000", NULL);
			return;
		}
		max = n;
	}
	send_big(ref, 200, JSON, r_list, &max, 64 + (size_t)max * 256);
}

/* A job submitted with ?wait=1 ended: answer if the client still waits. */
static void job_done(const struct job_info *info, void *ctx)
{
	uintptr_t v = (uintptr_t)ctx;
	struct http_conn_ref ref = { (int)(v & 0xff), (uint32_t)(v >> 8) };
	/* Not if the client left, or got its 202 after 60 s and moved on. */
	if (http_waiting_for(ref, info->id))
		send_job(ref, 200, info, NULL);
}

void api_wait_poll(struct http_conn_ref ref, uint64_t job)
{
	struct job_info info;
	if (!jobs_get(job, &info)) {
		http_respond_error(ref, 404, "job left the history", NULL);
		return;
	}
	if (time_ns() - info.submitted_ns >= WAIT_MAX_NS) {
		char loc[64];
		snprintf(loc, sizeof(loc), "Location: /api/jobs/%lu\r\n", (unsigned long)job);
		send_job(ref, 202, &info, loc);
	}
}

static void post_job(struct http_conn_ref ref, const struct http_req *r, const char *body,
		     size_t len)
{
	if (r->content_length < 0) {
		http_respond_error(ref, 411, "a request body needs Content-Length", NULL);
		return;
	}
	struct jobreq jr;
	const char *err = jobreq_parse(body, len, &jr);
	if (err) {
		jobs_count_bad();
		http_respond_error(ref, 400, err, NULL);
		return;
	}
	char v[8];
	int wait = http_query_get(r->query, "wait", v, sizeof(v)) > 0 && !strcmp(v, "1");
	uint64_t id;
	void *ctx = (void *)(((uintptr_t)ref.gen << 8) | (uintptr_t)ref.slot);
	enum job_err e = jobs_submit(jr.limit, jr.tasks, jr.split ? JOB_SPLIT : JOB_REPEAT,
				     time_ns(), wait ? job_done : NULL, wait ? ctx : NULL, &id);
	if (e == JOB_EBUSY || e == JOB_ENOMEM) {
		http_respond_error(ref, 503, "the appliance is full; retry later", "Retry-After: 1\r\n");
		return;
	}
	if (e != JOB_OK) {
		http_respond_error(ref, 400, "bad job", NULL);
		return;
	}
	if (wait) {
		http_wait(ref, id);
		return;
	}
	struct job_info info;
	jobs_get(id, &info);
	char loc[64];
	snprintf(loc, sizeof(loc), "Location: /api/jobs/%lu\r\n", (unsigned long)id);
	send_job(ref, 202, &info, loc);
}

/* "/api/jobs/<digits>" -> id; false for anything else. */
static bool job_path(const char *path, uint64_t *id)
{
	const char *p = path + strlen("/api/jobs/");
	if (!*p)
		return false;
	uint64_t v = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*id = v;
	return true;
}

static void method_not_allowed(struct http_conn_ref ref, const char *allow)
{
	char h[64];
	snprintf(h, sizeof(h), "Allow: %s\r\n", allow);
	http_respond_error(ref, 405, "method not allowed", h);
}

static bool is(const struct http_req *r, const char *m)
{
	return !strcmp(r->method, m);
}

void api_dispatch(struct http_conn_ref ref, const struct http_req *r, const char *body, size_t len)
{
	const char *path = r->path;
	if (!strcmp(path, "/api/status") || !strcmp(path, "/metrics")) {
		if (!is(r, "GET"))
			return method_not_allowed(ref, "GET");
		return get_status(ref, path[1] == 'm');
	}
	if (!strcmp(path, "/api/jobs")) {
		if (is(r, "GET"))
			return get_jobs(ref, r);
		if (!is(r, "POST"))
			return method_not_allowed(ref, "GET, POST");
		if (!http_authorized(r))
			return http_respond_error(ref, 401, "missing or wrong bearer token",
						  "WWW-Authenticate: Bearer\r\n");
		return post_job(ref, r, body, len);
	}
	if (!strncmp(path, "/api/jobs/", 10)) {
		uint64_t id;
		struct job_info info;
		if (!job_path(path, &id))
			return http_respond_error(ref, 404, "no such job", NULL);
		if (is(r, "GET")) {
			if (!jobs_get(id, &info))
				return http_respond_error(ref, 404, "no such job", NULL);
			return send_job(ref, 200, &info, NULL);
		}
		if (!is(r, "DELETE"))
			return method_not_allowed(ref, "GET, DELETE");
		if (!http_authorized(r))
			return http_respond_error(ref, 401, "missing or wrong bearer token",
						  "WWW-Authenticate: Bearer\r\n");
		int rc = jobs_cancel(id, &info);
		if (rc < 0)
			return http_respond_error(ref, 404, "no such job", NULL);
		if (rc > 0)
			return send_job(ref, 409, &info, NULL);
		info.state = JOB_CANCELLED;
		return send_job(ref, 200, &info, NULL);
	}
	if (!strcmp(path, "/") || !strcmp(path, "/index.html")) {
		if (!is(r, "GET"))
			return method_not_allowed(ref, "GET");
		return http_respond_error(ref, 501, "the dashboard is not built yet", NULL);
	}
	http_respond_error(ref, 404, "no such path", NULL);
}
