/* test_http.c - the control plane's pure parts: the request head parser
 * (limits and every malformed shape), POST /api/jobs bodies, the query
 * string, response framing (httpresp.c) and the growable buffer
 * (outbuf.c), the JSON/Prometheus renderers (parsed back with jsmn), and
 * the status document (status.c) assembled from fake sources, with the
 * signature the event streams watch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#include <jsmn.h>

#include "../../appliance/http/http.h"
#include "../../appliance/http/httpreq.h"
#include "../../appliance/http/httpresp.h"
#include "../../appliance/http/jobreq.h"
#include "../../appliance/http/outbuf.h"
#include "../../appliance/http/render.h"
#include "../../appliance/http/status.h"
#include "check.h"

static int valid_json(const char *s, size_t n)
{
	static jsmntok_t t[4096];
	jsmn_parser p;
	jsmn_init(&p);
	int k = jsmn_parse(&p, s, n, t, 4096);
	return k > 0 && t[0].type == JSMN_OBJECT && (size_t)t[0].end >= n - 1;
}

/* ---- fake sources for status.c ---------------------------------------- */

static struct http_stats fake_http;
static struct sched_stats fake_sched;
static struct job_counters fake_jobs;
static struct udp_compute_stats fake_udp;
static struct net_stats fake_net;
static uint64_t fake_uptime;
static int core_calls;

/* status.c reads the connection layer's counters directly. */
void http_stats(struct http_stats *st)
{
	*st = fake_http;
}

static uint64_t src_uptime(void)
{
	return fake_uptime;
}

static void src_sched(struct sched_stats *st)
{
	*st = fake_sched;
}

static void src_core(int i, struct sched_core_stats *c)
{
	core_calls++;
	memset(c, 0, sizeof(*c));
	c->id = i;
	c->online = i != 1;     /* core 1 never started */
	c->bsp = i == 0;
	c->state = i == 0 ? SCHED_CORE_IDLE : SCHED_CORE_HALTED;
	c->busy_ns = 1000ULL * (uint64_t)i;
}

static void src_smp(struct smp_stats *st)
{
	st->discovered = fake_sched.ncores;
	st->online = fake_sched.online;
	st->parked = 1;
}

static void src_jobs(struct job_counters *c)
{
	*c = fake_jobs;
}

static void src_net(struct net_stats *st)
{
	*st = fake_net;
}

static void src_heap(struct kheap_stats *st)
{
	st->total = 1000;
	st->used = 400;
	st->peak = 500;
	st->failures = 0;
}

static void src_udp(struct udp_compute_stats *st)
{
	*st = fake_udp;
}

static void r_hello(struct outbuf *o, const void *arg)
{
	for (int i = 0; i < *(const int *)arg; i++)
		out_printf(o, "hello %d\n", i);
}

/* The head's length, or the error, for a framing case. */
static int frame(char *buf, size_t size, int status, const char *ctype, int64_t len, bool close,
		 unsigned retry, bool no_cache, const char *extra)
{
	struct http_resp r = { status, ctype, len, close, retry, no_cache, extra };
	memset(buf, 'X', size);
	return http_resp_head(buf, size, &r);
}

static void test_framing(void)
{
	char b[HTTP_RESP_HEAD_MAX];
	const char *want = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
			   "Connection: keep-alive\r\nX-Test: 1\r\n\r\n";
	int n = frame(b, sizeof(b), 200, "text/plain", 5, false, 0, false, "X-Test: 1\r\n");
	CHECK(n == (int)strlen(want) && !memcmp(b, want, (size_t)n) && b[n] == '\0');
	/* Exactly the room: fits; one byte less: EROOM, and nothing beyond size written. */
	char e[200];
	memset(e, 'Z', sizeof(e));
	struct http_resp r = { 200, "text/plain", 5, false, 0, false, "X-Test: 1\r\n" };
	CHECK(http_resp_head(e, (size_t)n + 1, &r) == n);
	memset(e, 'Z', sizeof(e));
	CHECK(http_resp_head(e, (size_t)n, &r) == HTTP_RESP_EROOM && e[n] == 'Z');
	memset(e, 'Z', sizeof(e));
	CHECK(http_resp_head(e, 0, &r) == HTTP_RESP_EROOM && e[0] == 'Z');
	/* 304: no Content-Type, no Content-Length (RFC 9110 8.6). */
	n = frame(b, sizeof(b), 304, "text/html", 13, false, 0, false, "ETag: \"v1\"\r\n");
	CHECK(n > 0 && !strcmp(b, "HTTP/1.1 304 Not Modified\r\nConnection: keep-alive\r\n"
			      "ETag: \"v1\"\r\n\r\n"));
	/* A stream: no Content-Length, no-cache, close. */
	n = frame(b, sizeof(b), 200, "text/event-stream", HTTP_RESP_STREAM, true, 0, true, NULL);
	CHECK(n > 0 && !strcmp(b, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			      "Cache-Control: no-cache\r\nConnection: close\r\n\r\n"));
	/* The 503 of a full appliance, and a 408. */
	n = frame(b, sizeof(b), 503, "application/json", 0, true, 1, false, NULL);
	CHECK(n > 0 && !strcmp(b, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
			      "application/json\r\nContent-Length: 0\r\nConnection: close\r\n"
			      "Retry-After: 1\r\n\r\n"));
	n = frame(b, sizeof(b), 408, NULL, 2, true, 0, false, NULL);
	CHECK(n > 0 && !strcmp(b, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 2\r\n"
			      "Connection: close\r\n\r\n"));
	CHECK(!strcmp(http_reason(431), "Request Header Fields Too Large"));
	CHECK(!strcmp(http_reason(299), "Error"));
	/* What would break the framing is refused. */
	const char *bad_extra[] = {
		"X-A: 1", "X-A: 1\n", "X-A: 1\r", "X-A 1\r\n", ": 1\r\n", "X A: 1\r\n",
		"X-A: 1\r\n\r\n", "X-A: 1\r\n\r\nHTTP/1.1 200 OK\r\n", "X-A: a\rb\r\n",
		"X-A: a\nb\r\n", "X-A: \x01\r\n", "X-A: \x7f\r\n", "Content-Length: 3\r\n",
		"content-LENGTH: 3\r\n", "X-A: 1\r\nConnection: keep-alive\r\n",
		"Transfer-Encoding: chunked\r\n",
	};
	for (size_t i = 0; i < sizeof(bad_extra) / sizeof(bad_extra[0]); i++) {
		int rc = frame(b, sizeof(b), 200, "text/plain", 1, false, 0, false, bad_extra[i]);
		CHECK(rc == HTTP_RESP_EINVAL);
		if (rc != HTTP_RESP_EINVAL)
			fprintf(stderr, "  accepted extra %zu\n", i);
	}
	CHECK(frame(b, sizeof(b), 200, "text/plain", 1, false, 0, false,
		    "X-A:\r\nX-B: \t\xc3\xa9 v\r\nRetry-After: 5\r\n") > 0);
	CHECK(frame(b, sizeof(b), 200, "text/plain\r\nX: y", 1, false, 0, false, NULL) ==
	      HTTP_RESP_EINVAL);
	CHECK(frame(b, sizeof(b), 200, "", 1, false, 0, false, NULL) == HTTP_RESP_EINVAL);
	CHECK(frame(b, sizeof(b), 99, NULL, 1, false, 0, false, NULL) == HTTP_RESP_EINVAL);
	CHECK(frame(b, sizeof(b), 600, NULL, 1, false, 0, false, NULL) == HTTP_RESP_EINVAL);
	CHECK(frame(b, sizeof(b), 200, NULL, -2, false, 0, false, NULL) == HTTP_RESP_EINVAL);
	n = frame(b, sizeof(b), 200, NULL, INT64_MAX, false, 0, false, NULL);
	CHECK(n > 0 && strstr(b, "Content-Length: 9223372036854775807\r\n"));

	/* The error body: a JSON string, escaped. */
	struct outbuf o;
	out_init(&o, b, sizeof(b));
	http_error_body(&o, "a \"quoted\"\\ \x01 thing\x7f");
	CHECK(!o.overflow && !strcmp(b, "{\"error\":\"a \\\"quoted\\\"\\\\ \\u0001 thing\\u007f\"}\n"));
	out_init(&o, b, 10);
	http_error_body(&o, "long enough to overflow");
	CHECK(o.overflow && o.len < 10 && strlen(b) == o.len);
}

static void test_outbuf(void)
{
	char b[16];
	struct outbuf o;
	out_init(&o, b, sizeof(b));
	out_write(&o, "ab\0c", 4);
	CHECK(!o.overflow && o.len == 4 && !memcmp(b, "ab\0c", 5));
	out_printf(&o, "%d", 12345);
	CHECK(!o.overflow && o.len == 9 && !strcmp(b + 4, "12345"));
	out_write(&o, "0123456", 7);        /* 16 would leave no room for the NUL */
	CHECK(o.overflow && o.len == 9 && b[9] == '\0');
	out_printf(&o, "x");
	CHECK(o.overflow && o.len == 9);
	out_init(&o, b, 0);
	out_printf(&o, "x");
	CHECK(o.overflow && o.len == 0);
	/* The grow-and-retry loop: 64 bytes first, doubled until it fits. */
	int lines = 40;         /* about 350 bytes: the fourth try, 512 */
	size_t len = 0;
	char *t = out_render(64, r_hello, &lines, &len);
	CHECK(t && len == strlen(t) && !strncmp(t, "hello 0\n", 8) && strstr(t, "hello 39\n"));
	free(t);
	lines = 1000;       /* about 10 KB: more than the last try's 64 x 2^3 */
	t = out_render(64, r_hello, &lines, &len);
	CHECK(t == NULL);
	t = out_render(4096, r_hello, &lines, &len);
	CHECK(t && len > 8000 && len < 32768);
	free(t);
}

static void test_status(void)
{
	fake_sched = (struct sched_stats){ .ncores = 4, .online = 3, .policy = "share",
					   .queue_depth = 5, .halted_aps = 2 };
	fake_jobs.tasks_capacity = 65536;
	fake_uptime = 1234567;
	status_init(&(struct status_sources){
		.uptime_us = src_uptime, .sched = src_sched, .core = src_core, .smp = src_smp,
		.jobs = src_jobs, .net = src_net, .heap = src_heap, .udp = src_udp,
	});
	struct status_snap snap;
	CHECK(status_snapshot(&snap));
	CHECK(snap.ncores == 3 && snap.cores[1].id == 2 && snap.uptime_us == 1234567);
	CHECK(snap.ch.queue_depth == 5 && snap.smp.parked == 1 && snap.mem.used == 400);
	size_t len;
	char *t = status_render(&snap, STATUS_JSON, &len);
	CHECK(t && len == strlen(t) && t[len - 1] == '\n' && valid_json(t, len));
	CHECK(t && strstr(t, "\"queue\":{\"depth\":5,\"capacity\":65536}"));
	CHECK(t && strstr(t, "\"http\":{\"open\":0,\"refused\":0,\"reset\":0,\"timed_out\":0,"
			     "\"stalled\":0}"));
	free(t);
	status_release(&snap);

	/* The signature moves with every figure of struct status_changes,
	 * wherever it comes from, and with nothing else. */
	bool active;
	uint64_t sig = status_signature(&active);
	CHECK(!active && status_signature(&active) == sig);
	fake_uptime += 5000000;
	fake_net.dev.rx_packets += 10;
	fake_http.open = 7;
	CHECK(status_signature(&active) == sig);
	uint64_t *moves[] = { &fake_jobs.accepted, &fake_jobs.done, &fake_jobs.cancelled,
			      &fake_jobs.rejected, &fake_jobs.too_big, &fake_udp.bad, &fake_udp.busy,
			      &fake_udp.denied, &fake_udp.replies_lost, &fake_http.refused,
			      &fake_http.reset, &fake_http.timed_out, &fake_http.stalled,
			      &fake_http.bad, &fake_sched.queue_depth };
	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		(*moves[i])++;
		uint64_t now = status_signature(&active);
		CHECK(now != sig);
		if (now == sig)
			fprintf(stderr, "  figure %zu did not move the signature\n", i);
		sig = now;
	}
	fake_sched.halted_aps = 1;      /* an AP woke: a change, and work under way */
	CHECK(status_signature(&active) != sig && active);
	fake_sched.halted_aps = 2;
	fake_jobs.running = 1;
	sig = status_signature(&active);
	CHECK(active);
	fake_jobs.running = 0;
	CHECK(status_signature(&active) != sig && !active);
	/* Malformed requests of both endpoints and the control plane's own
	 * count together, in the signature and in jobs.bad. */
	sig = status_signature(&active);
	status_count_bad();
	CHECK(status_signature(&active) != sig);
	CHECK(status_snapshot(&snap));
	CHECK(snap.ch.bad == 1 + fake_udp.bad + fake_http.bad);
	t = status_render(&snap, STATUS_METRICS, &len);
	CHECK(t && strstr(t, "appliance_http_timed_out_total 1\n") &&
	      strstr(t, "appliance_http_stalled_total 1\n"));
	free(t);
	status_release(&snap);
	/* Sources may be missing: zeros, no crash. */
	status_init(&(struct status_sources){ 0 });
	CHECK(status_snapshot(&snap) && snap.ncores == 0);
	t = status_render(&snap, STATUS_JSON, &len);
	CHECK(t && valid_json(t, len));
	free(t);
	status_release(&snap);
}

static int head(const char *s, struct http_req *r)
{
	return http_parse_head(s, strlen(s), r);
}

int main(void)
{
	struct http_req r;
	/* Complete and incomplete heads. */
	CHECK(head("GET /api/status HTTP/1.1\r\nHost: x\r\n", &r) == 0);
	int n = head("GET /api/status HTTP/1.1\r\nHost: x\r\n\r\nBODY", &r);
	CHECK(n == (int)strlen("GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n"));
	CHECK(!strcmp(r.method, "GET") && !strcmp(r.path, "/api/status") && !r.query[0]);
	CHECK(r.minor == 1 && !r.close && r.content_length == -1 && !r.chunked);
	CHECK(head("GET /x HTTP/1.0\n\n", &r) > 0 && r.close);          /* bare LF, 1.0 */
	CHECK(head("POST /api/jobs?wait=1&x=2 HTTP/1.1\r\nContent-Length: 12\r\n"
		   "connection: Close\r\nAuthorization: Bearer abc\r\n\r\n", &r) > 0);
	CHECK(r.content_length == 12 && r.close && !strcmp(r.auth, "Bearer abc"));
	CHECK(!strcmp(r.query, "wait=1&x=2"));
	CHECK(head("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r) > 0 && r.chunked);
	CHECK(head("GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n", &r) > 0 && !r.close);

	/* Malformed. */
	const char *bad[] = { "\r\n\r\n", "GET\r\n\r\n", "GET / \r\n\r\n", "GET x HTTP/1.1\r\n\r\n",
			      "GET / HTTP/1.1 \r\n\r\n", "GET / FTP/1.1\r\n\r\n",
			      "G\x01T / HTTP/1.1\r\n\r\n", "GET /a\x7f HTTP/1.1\r\n\r\n",
			      "GET / HTTP/1.1\r\nNoColon\r\n\r\n", "GET / HTTP/1.1\r\n: v\r\n\r\n",
			      "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
			      "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
			      "GET / HTTP/1.1\r\nContent-Length:\r\n\r\n",
			      "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
			      "VERYLONGMETHOD / HTTP/1.1\r\n\r\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = head(bad[i], &r);
		CHECK(rc == -400);
		if (rc != -400)
			fprintf(stderr, "  case %zu: %d\n", i, rc);
	}
	/* Versions (issue 9): HTTP/DIGIT.DIGIT; 1.x served, another one 505,
	 * anything else or a fourth part on the request line 400. */
	CHECK(head("GET / HTTP/2.0\r\n\r\n", &r) == -505);
	CHECK(head("GET / HTTP/0.9\r\n\r\n", &r) == -505);
	CHECK(head("GET / HTTP/9.9\r\n\r\n", &r) == -505);
	CHECK(head("GET / HTTP/2\r\n\r\n", &r) == -400);
	CHECK(head("GET / HTTP/1.10\r\n\r\n", &r) == -400);
	CHECK(head("GET / HTTP/x.1\r\n\r\n", &r) == -400);
	CHECK(head("GET / HTTP/1.x\r\n\r\n", &r) == -400);
	CHECK(head("GET /api/status HTTP/9.9 extra\r\n\r\n", &r) == -400);
	CHECK(head("GET /api/status HTTP/1.1 extra\r\n\r\n", &r) == -400);
	CHECK(head("GET / HTTP/1.1 \r\n\r\n", &r) == -400);
	CHECK(head("GET / HTTP/1.1\n\n", &r) > 0 && r.minor == 1);
	CHECK(head("GET / HTTP/1.0\r\n\r\n", &r) > 0 && r.minor == 0 && r.close);
	/* If-None-Match is kept when it fits, dropped when it does not. */
	CHECK(head("GET / HTTP/1.1\r\nIf-None-Match: \"abc\"\r\n\r\n", &r) > 0 &&
	      !strcmp(r.if_none_match, "\"abc\""));
	{
		char h[300];
		int k = snprintf(h, sizeof(h), "GET / HTTP/1.1\r\nIf-None-Match: \"");
		memset(h + k, 'e', 100);
		snprintf(h + k + 100, sizeof(h) - (size_t)k - 100, "\"\r\n\r\n");
		CHECK(head(h, &r) > 0 && r.if_none_match[0] == '\0');
	}
	/* A length beyond any body taken is one past the limit (413), however long. */
	CHECK(head("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", &r) > 0 &&
	      r.content_length == HTTP_BODY_MAX + 1);
	CHECK(head("POST / HTTP/1.1\r\nContent-Length: 4097\r\n\r\n", &r) > 0 &&
	      r.content_length == HTTP_BODY_MAX + 1);
	CHECK(head("POST / HTTP/1.1\r\nContent-Length: 4096\r\n\r\n", &r) > 0 &&
	      r.content_length == HTTP_BODY_MAX);
	/* Authorization values too long to keep match no token (issue 10). */
	{
		char h[1200];
		int k = snprintf(h, sizeof(h), "GET / HTTP/1.1\r\nAuthorization: Bearer ");
		memset(h + k, 't', 600);
		strcpy(h + k + 600, "\r\n\r\n");
		CHECK(head(h, &r) > 0 && r.auth_truncated && strlen(r.auth) == sizeof(r.auth) - 1);
		CHECK(head("GET / HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n", &r) > 0 &&
		      !r.auth_truncated);
		/* "Bearer <token>\0junk" must not match by strcmp: NUL is refused. */
		static const char nul[] = "GET / HTTP/1.1\r\nAuthorization: Bearer x\0y\r\n\r\n";
		CHECK(http_parse_head(nul, sizeof(nul) - 1, &r) == -400);
	}
	char *big = malloc(HTTP_HEAD_MAX + 100);
	memset(big, 'a', HTTP_HEAD_MAX + 100);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	CHECK(http_parse_head(big, HTTP_HEAD_MAX + 100, &r) == -431);
	CHECK(http_parse_head(big, HTTP_HEAD_MAX - 1, &r) == 0);
	char longpath[400] = "GET /";
	memset(longpath + 5, 'p', 300);
	strcpy(longpath + 305, " HTTP/1.1\r\n\r\n");
	CHECK(head(longpath, &r) == -400);
	free(big);

	/* Query strings. */
	char v[8];
	CHECK(http_query_get("wait=1&limit=20", "limit", v, sizeof(v)) == 1 && !strcmp(v, "20"));
	CHECK(http_query_get("wait=1&limit=20", "wait", v, sizeof(v)) == 1 && !strcmp(v, "1"));
	CHECK(http_query_get("xlimit=5", "limit", v, sizeof(v)) == 0);
	CHECK(http_query_get("", "limit", v, sizeof(v)) == 0);
	CHECK(http_query_get("limit=123456789", "limit", v, sizeof(v)) == -1);
	CHECK(http_query_get("limit=", "limit", v, sizeof(v)) == 1 && !v[0]);

	/* Job bodies. */
	struct job_spec jr;
#define BODY(s) jobreq_parse(s, strlen(s), &jr)
	CHECK(BODY("{\"limit\":1000000,\"tasks\":8,\"mode\":\"split\"}") == NULL);
	CHECK(jr.limit == 1000000 && jr.tasks == 8 && jr.mode == JOB_SPLIT);
	CHECK(BODY(" {\"limit\": 0 }\n") == NULL && jr.limit == 0 && jr.tasks == 1 &&
	      jr.mode == JOB_REPEAT);
	CHECK(BODY("{ \"limit\" : 5 , \"tasks\" : 8 }") == NULL && jr.tasks == 8);
	CHECK(BODY("{\"limit\":1099511627776}") == NULL);
	const char *badjson[] = { "", "{", "[]", "1", "{}", "{\"tasks\":2}", "{\"limit\":-1}",
				  "{\"limit\":1.5}", "{\"limit\":1e3}", "{\"limit\":\"10\"}",
				  "{\"limit\":01}", "{\"limit\":1099511627777}",
				  "{\"limit\":99999999999999999999999}", "{\"limit\":1,\"tasks\":0}",
				  "{\"limit\":1,\"tasks\":1025}", "{\"limit\":1,\"mode\":\"x\"}",
				  "{\"limit\":1,\"mode\":1}", "{\"limit\":1,\"foo\":1}",
				  "{\"limit\":1,\"limit\":2}", "{\"limit\":1} x", "{\"limit\":[1]}",
				  "{\"limit\":true}", "{\"limit\":null}",
				  /* Issue 10, defect 6: every token consumed, every
				   * separator where JSON puts it. */
				  "{\"limit\":5 \"tasks\":8}", "{\"limit\":5,,\"tasks\":8}",
				  "{,\"limit\":5}", "{\"limit\":5,}", "{\"limit\" 5}",
				  "{\"limit\"::5}", "{\"limit\":5 \"foo\":1}",
				  "{\"limit\":5 \"tasks\":2000}", "{\"limit\":5}}", "{\"limit\":5}{}",
				  "{\"limit\":5,\"tasks\"}", "{\"limit\":5 8}", "{\"limit\":5:8}",
				  "{\"limit\"\"x\":5}", "{\"tasks\":0,\"limit\":5}",
				  "{\"limit\":5,\"mode\":\"split\" \"x\":1}" };
	for (size_t i = 0; i < sizeof(badjson) / sizeof(badjson[0]); i++) {
		const char *e = BODY(badjson[i]);
		CHECK(e != NULL);
		if (!e)
			fprintf(stderr, "  accepted %s\n", badjson[i]);
	}

	/* Renderers: valid JSON, all fields, and overflow reported. */
	struct status_snap *s = calloc(1, sizeof(*s));
	struct sched_core_stats *cores = calloc(64, sizeof(*cores));
	s->uptime_us = 123;
	s->ncores = 64;
	for (int i = 0; i < s->ncores; i++) {
		cores[i].id = i;
		cores[i].bsp = i == 0;
		cores[i].state = i % 3;
		cores[i].halts = UINT64_MAX;
	}
	s->cores = cores;
	s->ch.jobs.tasks_capacity = 1024;
	s->sched.policy = "share";
	char *buf = malloc(65536);
	struct outbuf o;
	out_init(&o, buf, 65536);
	render_status(&o, s);
	CHECK(!o.overflow && valid_json(buf, o.len));
	CHECK(strstr(buf, "\"role\":\"bsp\"") && strstr(buf, "\"state\":\"halted\""));
	CHECK(strstr(buf, "\"halts\":18446744073709551615"));
	CHECK(strstr(buf, "\"queue\":{\"depth\":0,\"capacity\":1024}"));
	out_init(&o, buf, 100);
	render_status(&o, s);
	CHECK(o.overflow && o.len < 100);
	out_init(&o, buf, 65536);
	render_metrics(&o, s);
	CHECK(!o.overflow && strstr(buf, "appliance_core_halts_total{core=\"63\"} 18446744073709551615"));
	CHECK(strstr(buf, "# TYPE appliance_jobs_total counter"));
	struct job_info ji = { .id = 7, .state = JOB_DONE, .spec = { 1000000, 8, JOB_REPEAT },
			       .has_result = true, .result = 627984 };
	out_init(&o, buf, 65536);
	render_job(&o, &ji);
	CHECK(valid_json(buf, o.len));
	CHECK(!strcmp(buf, "{\"id\":7,\"state\":\"done\",\"limit\":1000000,\"tasks\":8,\"mode\":"
			   "\"repeat\",\"result\":627984,\"submitted_us\":0,\"elapsed_us\":0}"));
	ji.has_result = false;
	ji.state = JOB_QUEUED;
	out_init(&o, buf, 65536);
	render_job(&o, &ji);
	CHECK(strstr(buf, "\"result\":null") && strstr(buf, "\"state\":\"queued\""));
	out_init(&o, buf, 65536);
	http_error_body(&o, "a \"quoted\"\\ \x01 thing");
	CHECK(valid_json(buf, o.len));
	free(buf);
	free(cores);
	free(s);
	test_framing();
	test_outbuf();
	test_status();
	return CHECK_DONE("http");
}
