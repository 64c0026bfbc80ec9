/* api.c - the control plane's routes (API.md section 3): the dashboard's
 * files, status, metrics, jobs, the event streams, and the bearer token
 * of section 4. The status document is status.c's, the streams are
 * events.c's; the connection layer (http.c) calls in through the handler
 * table given to http_init. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/console.h"
#include "../../kernel/parse.h"
#include "../../kernel/time.h"
#include "../jobs/jobs.h"
#include "assets.h"
#include "events.h"
#include "http.h"
#include "httpreq.h"
#include "jobreq.h"
#include "outbuf.h"
#include "render.h"
#include "status.h"

#define WAIT_MAX_MS     60000   /* API.md: ?wait=1 gives up after 60 s */
#define LIST_DEFAULT    100
#define LIST_MAX        1000
#define JSON            "application/json"

_Static_assert(sizeof(((struct http_req *)0)->auth) > sizeof("Bearer ") + API_TOKEN_MAX,
	       "an Authorization header with the longest token fits");

static struct api_config cfg;

static void refuse_bad(struct http_conn_ref ref, const char *msg)
{
	status_count_bad();
	http_respond_error(ref, 400, msg, NULL);
}

/* An answer rendered with room that grows (out_render), or 503 when
 * there is no memory for it. */
static void send_big(struct http_conn_ref ref, int status, const char *ctype,
		     void (*render)(struct outbuf *, const void *), const void *arg, size_t size)
{
	size_t len;
	char *text = out_render(size, render, arg, &len);
	if (!text) {
		http_respond_error(ref, 503, "out of memory", "Retry-After: 1\r\n");
		return;
	}
	http_respond(ref, status, ctype, text, len, NULL);
	free(text);
}

static void get_status(struct http_conn_ref ref, enum status_format f)
{
	struct status_snap s;
	size_t len;
	char *text = NULL;
	if (status_snapshot(&s)) {
		text = status_render(&s, f, &len);
		status_release(&s);
	}
	if (!text) {
		http_respond_error(ref, 503, "out of memory", "Retry-After: 1\r\n");
		return;
	}
	http_respond(ref, 200, f == STATUS_METRICS ? "text/plain; version=0.0.4" : JSON, text, len,
		     NULL);
	free(text);
}

/* If-None-Match (RFC 9110 13.1.2): "*" or a list of entity tags, weak
 * ones compared weakly; true when one of them is etag. */
static bool etag_matches(const char *inm, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = inm;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (!strncmp(p, etag, el) && (p[el] == '\0' || p[el] == ',' || p[el] == ' ' ||
					      p[el] == '\t'))
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

/* The dashboard's files: revalidated on each use (no-cache) against
 * their ETag, so a reload costs a 304 per file, not the file. */
static void get_asset(struct http_conn_ref ref, const struct http_req *r, const struct asset *a)
{
	char h[160];
	snprintf(h, sizeof(h), "ETag: %s\r\nCache-Control: no-cache\r\n", a->etag);
	if (r->if_none_match[0] && etag_matches(r->if_none_match, a->etag))
		http_respond(ref, 304, a->ctype, NULL, 0, h);
	else
		http_respond(ref, 200, a->ctype, (const char *)a->data, a->len, h);
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
		uint64_t n;
		if (got < 0 || parse_u64(v, strlen(v), LIST_MAX, &n) != PARSE_OK || n < 1) {
			refuse_bad(ref, "limit must be an integer 1..1000");
			return;
		}
		max = (int)n;
	}
	send_big(ref, 200, JSON, r_list, &max, 64 + (size_t)max * 256);
}

/* A connection waiting for a job's end: a POST with ?wait=1, or a DELETE
 * of a job whose chunks were all running (it ends done within one chunk
 * time). One per connection slot, as a connection waits for one job at
 * a time and reads no request meanwhile (http_wait); the connection
 * layer says when the wait's time is up (wait_expired) and when the
 * connection ends first (wait_dropped: the waiter is let go of). The
 * ref's generation keeps a late completion from answering a newer
 * connection of the same slot. */
struct api_wait {
	struct job_waiter waiter;       /* first: the engine hands it back */
	struct http_conn_ref ref;
	uint64_t job;
	bool cancel;                    /* the DELETE's: answer 409 with the ended job */
};

static struct api_wait waits[HTTP_MAX_CONNS];

static void wait_done(struct job_waiter *w, const struct job_info *info)
{
	struct api_wait *aw = (struct api_wait *)w;
	if (http_waiting(aw->ref))
		send_job(aw->ref, aw->cancel ? 409 : 200, info, NULL);
}

/* The connection's waiter, let go of by a job an earlier connection of
 * the same slot may have waited for. */
static struct job_waiter *waiter_for(struct http_conn_ref ref, bool cancel)
{
	struct api_wait *aw = &waits[ref.slot];
	jobs_unwait(&aw->waiter);
	aw->waiter.done = wait_done;
	aw->ref = ref;
	aw->cancel = cancel;
	return &aw->waiter;
}

static void wait_for(struct http_conn_ref ref, uint64_t job)
{
	waits[ref.slot].job = job;
	http_wait(ref, WAIT_MAX_MS);
}

/* WAIT_MAX_MS passed: a ?wait=1 gives up and answers 202 as without it;
 * a DELETE answers 409 with the job as it is. */
static void wait_expired(struct http_conn_ref ref)
{
	struct api_wait *aw = &waits[ref.slot];
	jobs_unwait(&aw->waiter);
	struct job_info info;
	if (!jobs_get(aw->job, &info)) {
		http_respond_error(ref, 404, "job left the history", NULL);
		return;
	}
	if (aw->cancel) {
		send_job(ref, 409, &info, NULL);
		return;
	}
	char loc[64];
	snprintf(loc, sizeof(loc), "Location: /api/jobs/%lu\r\n", (unsigned long)aw->job);
	send_job(ref, 202, &info, loc);
}

static void wait_dropped(struct http_conn_ref ref)
{
	jobs_unwait(&waits[ref.slot].waiter);
}

static void post_job(struct http_conn_ref ref, const struct http_req *r, const char *body,
		     size_t len)
{
	if (r->content_length < 0) {
		status_count_bad();
		http_respond_error(ref, 411, "a request body needs Content-Length", NULL);
		return;
	}
	struct job_spec spec;
	const char *err = jobreq_parse(body, len, &spec);
	if (err) {
		refuse_bad(ref, err);
		return;
	}
	char v[8];
	int wait = http_query_get(r->query, "wait", v, sizeof(v)) > 0 && !strcmp(v, "1");
	uint64_t id;
	enum job_err e = jobs_submit(&spec, time_ns(), wait ? waiter_for(ref, false) : NULL, &id);
	if (e == JOB_EBUSY || e == JOB_ENOMEM) {
		http_respond_error(ref, 503, "the appliance is full; retry later", "Retry-After: 1\r\n");
		return;
	}
	if (e == JOB_ETOOBIG) {
		char msg[160];
		uint64_t est = jobs_estimate_us(&spec), cap = jobs_cap_us();
		snprintf(msg, sizeof(msg),
			 "too much work: about %lu.%01lu s of one core, over max_job_s=%lu; "
			 "ask for a lower limit or fewer tasks", (unsigned long)(est / 1000000),
			 (unsigned long)(est % 1000000 / 100000), (unsigned long)(cap / 1000000));
		http_respond_error(ref, 400, msg, NULL);        /* counted as jobs.too_big */
		return;
	}
	if (e != JOB_OK) {
		http_respond_error(ref, 400, "bad job", NULL);
		return;
	}
	if (wait) {
		wait_for(ref, id);
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
	return parse_u64(p, strlen(p), UINT64_MAX, id) == PARSE_OK;
}

/* guess == secret, in a time that depends on the secret's length only:
 * every byte of the secret is compared, whatever the guess holds, so a
 * client cannot find the token byte by byte from the answer's timing. */
static bool same_secret(const char *guess, const char *secret)
{
	size_t n = strlen(secret), g = 0;
	unsigned diff = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)guess[g];
		diff |= c ^ (unsigned char)secret[i];
		g += c != 0;    /* stays on the guess's end once reached */
	}
	diff |= (unsigned char)guess[g];        /* the guess is longer */
	return diff == 0;
}

/* The bearer token of API.md section 4, for POST and DELETE. The scheme
 * is case-insensitive (RFC 9110, 11.1), the token not. */
static bool authorized(const struct http_req *r)
{
	if (!cfg.token)
		return true;
	if (r->auth_truncated)
		return false;
	const char *p = "bearer ";
	for (int i = 0; i < 7; i++)
		if (!r->auth[i] || (r->auth[i] | 0x20) != p[i])
			return false;
	return same_secret(r->auth + 7, cfg.token);
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

static void dispatch(struct http_conn_ref ref, const struct http_req *r, const char *body,
		     size_t len)
{
	const char *path = r->path;
	if (!strcmp(path, "/api/status") || !strcmp(path, "/metrics")) {
		if (!is(r, "GET"))
			return method_not_allowed(ref, "GET");
		return get_status(ref, path[1] == 'm' ? STATUS_METRICS : STATUS_JSON);
	}
	if (!strcmp(path, "/api/events")) {
		if (!is(r, "GET"))
			return method_not_allowed(ref, "GET");
		return events_open(ref);
	}
	if (!strcmp(path, "/api/jobs")) {
		if (is(r, "GET"))
			return get_jobs(ref, r);
		if (!is(r, "POST"))
			return method_not_allowed(ref, "GET, POST");
		if (!authorized(r))
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
		if (!authorized(r))
			return http_respond_error(ref, 401, "missing or wrong bearer token",
						  "WWW-Authenticate: Bearer\r\n");
		switch (jobs_cancel(id, &info)) {
		case JOB_CANCEL_UNKNOWN:
			return http_respond_error(ref, 404, "no such job", NULL);
		case JOB_CANCEL_ENDED:
			return send_job(ref, 409, &info, NULL);
		case JOB_CANCEL_FINISHING:
			/* Too late to cancel: answer 409 with its result once
			 * its running chunks end. */
			if (jobs_wait(id, waiter_for(ref, true)))
				return wait_for(ref, id);
			jobs_get(id, &info);
			return send_job(ref, 409, &info, NULL);
		case JOB_CANCEL_DONE:
			break;
		}
		return send_job(ref, 200, &info, NULL);
	}
	const struct asset *a = assets_find(path);
	if (a) {
		if (!is(r, "GET"))
			return method_not_allowed(ref, "GET");
		return get_asset(ref, r, a);
	}
	http_respond_error(ref, 404, "no such path", NULL);
}

static const struct http_handlers handlers = {
	.request = dispatch,
	.wait_expired = wait_expired,
	.wait_dropped = wait_dropped,
};

void api_job_changed(const struct job_info *info)
{
	events_job(info);
}

void api_poll(void)
{
	events_poll();
}

void api_init(const struct api_config *c)
{
	cfg = *c;
	status_init(&cfg.status);
	if (cfg.token && !*cfg.token)
		cfg.token = NULL;
	if (cfg.token && strlen(cfg.token) > API_TOKEN_MAX)
		kprintf("http: token= is longer than %d characters; no POST or DELETE can match it\n",
			API_TOKEN_MAX);
	http_init(cfg.port, &handlers);
	kprintf("http: dashboard at / (%lu bytes of web/)\n", (unsigned long)assets_total_bytes());
	if (cfg.token)
		kprintf("http: POST and DELETE need the bearer token\n");
}
