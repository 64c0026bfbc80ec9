/* test_http.c - the control plane's pure parts: the request head parser
 * (limits and every malformed shape), POST /api/jobs bodies, the query
 * string, and the JSON/Prometheus renderers (parsed back with jsmn). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#include <jsmn.h>

#include "../../appliance/http/httpreq.h"
#include "../../appliance/http/jobreq.h"
#include "../../appliance/http/render.h"
#include "check.h"

static int head(const char *s, struct http_req *r)
{
	return http_parse_head(s, strlen(s), r);
}

static int valid_json(const char *s, size_t n)
{
	jsmn_parser p;
	jsmntok_t t[2048];
	jsmn_init(&p);
	int k = jsmn_parse(&p, s, n, t, 2048);
	return k > 0 && t[0].type == JSMN_OBJECT && (size_t)t[0].end >= n - 1;
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
	s->jobs.tasks_capacity = 1024;
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
	render_error(&o, "a \"quoted\"\\ \x01 thing");
	CHECK(valid_json(buf, o.len));
	CHECK(!strcmp(buf, "{\"error\":\"a \\\"quoted\\\"\\\\ \\u0001 thing\"}\n"));
	free(buf);
	free(cores);
	free(s);
	return CHECK_DONE("http");
}
