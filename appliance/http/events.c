/* events.c - the Server-Sent Events streams (events.h). Each stream keeps
 * when it last got a status event and a write of any kind, and the
 * status signature (status.h) it last saw. One lwIP timeout serves them
 * all: due when a changed status waits for its quarter second, every
 * quarter second while work is under way, and otherwise only when a
 * stream has been quiet for EVENTS_QUIET_S. */
#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/time.h"
#include "lwip/timeouts.h"
#include "render.h"
#include "status.h"

#define GAP_NS   (1000000000ULL / EVENTS_PER_S)
#define QUIET_NS ((uint64_t)EVENTS_QUIET_S * 1000000000ULL)
#define NEVER    UINT64_MAX

struct stream {
	struct http_conn_ref ref;
	bool used;
	bool dirty;             /* a status event is owed */
	uint64_t sig;           /* signature of the last status sent */
	uint64_t status_ns;     /* when that was */
	uint64_t write_ns;      /* the last write of any kind */
};

static struct stream streams[EVENTS_MAX_STREAMS];
static uint64_t armed_ns = NEVER;       /* when the timeout is due, NEVER: none */

static void tick(void *arg);

/* Forgets streams whose client left. */
static int prune(void)
{
	int n = 0;
	for (int i = 0; i < EVENTS_MAX_STREAMS; i++) {
		if (streams[i].used && http_stream_pending(streams[i].ref) == SIZE_MAX)
			streams[i].used = false;
		n += streams[i].used;
	}
	return n;
}

int events_streams(void)
{
	return prune();
}

static void stream_write(struct stream *s, const char *data, size_t len, uint64_t now)
{
	if (http_stream_send(s->ref, data, len))
		s->write_ns = now;
	else
		s->used = false;
}

/* "event: status\ndata: {...}\n\n" in a malloc'ed buffer. */
static char *status_event(size_t *len)
{
	struct status_snap snap;
	if (!status_snapshot(&snap))
		return NULL;
	size_t jl;
	char *json = status_render(&snap, STATUS_JSON, &jl);
	status_release(&snap);
	if (!json)
		return NULL;
	while (jl && json[jl - 1] == '\n')
		jl--;
	static const char pre[] = "event: status\ndata: ";
	char *ev = malloc(sizeof(pre) - 1 + jl + 2);
	if (ev) {
		memcpy(ev, pre, sizeof(pre) - 1);
		memcpy(ev + sizeof(pre) - 1, json, jl);
		memcpy(ev + sizeof(pre) - 1 + jl, "\n\n", 2);
		*len = sizeof(pre) - 1 + jl + 2;
	}
	free(json);
	return ev;
}

/* The next moment a stream needs the BSP, NEVER if none. */
static uint64_t due(uint64_t now, bool active)
{
	uint64_t d = NEVER;
	for (int i = 0; i < EVENTS_MAX_STREAMS; i++) {
		const struct stream *s = &streams[i];
		if (!s->used)
			continue;
		uint64_t t = s->write_ns + QUIET_NS;
		if (s->dirty || active) {
			uint64_t st = s->status_ns + GAP_NS;
			/* Still sending the last one: look again in a quarter second. */
			if (st <= now)
				st = now + GAP_NS;
			if (st < t)
				t = st;
		}
		if (t < d)
			d = t;
	}
	return d;
}

static void arm(uint64_t now, bool active)
{
	uint64_t d = due(now, active);
	if (d == armed_ns)
		return;
	if (armed_ns != NEVER)
		sys_untimeout(tick, NULL);
	armed_ns = d;
	if (d != NEVER) {
		uint64_t ms = d > now ? (d - now + 999999) / 1000000 : 0;
		sys_timeout((u32_t)(ms < 0x7fffffff ? ms : 0x7fffffff), tick, NULL);
	}
}

/* Sends what is owed: status events whose quarter second passed, and the
 * quiet comment. */
static void run(uint64_t now)
{
	bool active;
	uint64_t sig = status_signature(&active);
	char *ev = NULL;
	size_t len = 0;
	for (int i = 0; i < EVENTS_MAX_STREAMS; i++) {
		struct stream *s = &streams[i];
		if (!s->used)
			continue;
		if (sig != s->sig || active)
			s->dirty = true;
		size_t pending = http_stream_pending(s->ref);
		if (pending == SIZE_MAX) {
			s->used = false;
			continue;
		}
		if (s->dirty && now - s->status_ns >= GAP_NS && pending == 0) {
			if (!ev && !(ev = status_event(&len)))
				continue;       /* no memory now: the next tick tries again */
			stream_write(s, ev, len, now);
			s->sig = sig;
			s->status_ns = now;
			s->dirty = false;
		} else if (now - s->write_ns >= QUIET_NS) {
			static const char quiet[] = ": quiet\n\n";
			stream_write(s, quiet, sizeof(quiet) - 1, now);
		}
	}
	free(ev);
	arm(now, active);
}

static void tick(void *arg)
{
	(void)arg;
	armed_ns = NEVER;       /* lwIP dropped the timeout it just ran */
	run(time_ns());
}

void events_poll(void)
{
	for (int i = 0; i < EVENTS_MAX_STREAMS; i++)
		if (streams[i].used) {
			run(time_ns());
			return;
		}
}

void events_open(struct http_conn_ref ref)
{
	if (prune() >= EVENTS_MAX_STREAMS) {
		char msg[64];
		snprintf(msg, sizeof(msg), "all %d event streams are in use", EVENTS_MAX_STREAMS);
		http_respond_error(ref, 503, msg, "Retry-After: 5\r\n");
		return;
	}
	struct stream *s = NULL;
	for (int i = 0; i < EVENTS_MAX_STREAMS && !s; i++)
		if (!streams[i].used)
			s = &streams[i];
	size_t len;
	char *ev = status_event(&len);
	if (!ev) {
		http_respond_error(ref, 503, "out of memory", "Retry-After: 1\r\n");
		return;
	}
	if (!http_stream_open(ref, "text/event-stream", NULL)) {
		/* The client half-closed (a stream ends on its FIN), or no
		 * memory for the head; a connection already gone gets nothing. */
		free(ev);
		http_respond_error(ref, 400, "an event stream needs the connection open both ways",
				   NULL);
		return;
	}
	uint64_t now = time_ns();
	bool active;
	*s = (struct stream){ .ref = ref, .used = true, .sig = status_signature(&active),
			      .status_ns = now };
	/* An EventSource that loses the stream comes back after a second. */
	static const char retry[] = "retry: 1000\n\n";
	stream_write(s, retry, sizeof(retry) - 1, now);
	if (s->used)
		stream_write(s, ev, len, now);
	free(ev);
	arm(now, active);
}

void events_job(const struct job_info *info)
{
	char buf[448];
	struct outbuf o;
	out_init(&o, buf, sizeof(buf));
	out_printf(&o, "event: job\ndata: ");
	render_job(&o, info);
	out_printf(&o, "\n\n");
	if (o.overflow)
		return;
	uint64_t now = time_ns();
	for (int i = 0; i < EVENTS_MAX_STREAMS; i++)
		if (streams[i].used) {
			stream_write(&streams[i], o.buf, o.len, now);
			streams[i].dirty = true;        /* the counters moved with it */
		}
}
