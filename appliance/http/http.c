/* http.c - the HTTP/1.1 connection layer over lwIP's raw TCP API, on the
 * BSP: one state machine per connection (STYLE.md, "A protocol is one
 * explicit state machine").
 *
 *   READING --a request--> HANDLING --answered--> SENDING --handed to TCP--> READING
 *                            |   \---http_wait--> WAITING --answered----^
 *                            \---a stream------> STREAMING
 *   SENDING (the last answer) --> CLOSING --the client's FIN, or HTTP_LINGER_S--> closed
 *
 * lwIP's callbacks only record what happened (bytes in, bytes
 * acknowledged, the client's FIN, a reset) and so do the calls a handler
 * makes; step() is the one function that makes transitions. Each state
 * has its deadline, measured in time (sys_now), not in polls, so a poll
 * that comes late (a busy or descheduled core) stretches none:
 *   READING, nothing of a request yet   HTTP_IDLE_S of silence: closed
 *   READING, part of a request          HTTP_REQUEST_S from its first byte: 408, closing
 *   WAITING                             the handler's time: its wait_expired answers
 *   CLOSING                             HTTP_LINGER_S: closed
 *   any state with bytes sent and not acknowledged for HTTP_SEND_S: cut
 *   (reset, which frees at once what lwIP holds for it). Bytes still
 *   unacknowledged when a connection closes are lwIP's to deliver, for
 *   20 s at most (lwip_port/tcp_guard.c resets it after).
 *
 * Requests are buffered (head up to 8 KiB, body up to 4 KiB) and answered
 * in order (pipelining); while an answer is pending the next one is not
 * read: what arrives meanwhile is kept but the TCP window is not given
 * back for it, so a client cannot make a busy connection hold more. An
 * answer is handed to TCP as the send buffer takes it (the sent
 * callback), and only down to a reserve of lwIP's shared heap and
 * segment pool (room()): a client that does not read keeps what it has
 * and gets no more, and a fresh client's answer still goes out.
 *
 * When the client half-closes (FIN after its requests, as `nc -N` does),
 * every request that came is still answered, then the connection closes.
 * After an answer that ends the connection while the client may still be
 * sending (a refused request, a 408, a 411 whose body may follow), our
 * side is shut and what comes is read and dropped for HTTP_LINGER_S
 * (CLOSING), so the answer is not lost to a reset. A connection beyond
 * HTTP_MAX_CONNS gets a fixed 503 at once, from the accept callback, and
 * starts in CLOSING in one of HTTP_MAX_REFUSING slots without an input
 * buffer; with none free, or no memory for the answer, it is reset.
 *
 * A handler may turn its connection into a stream (Server-Sent Events):
 * after a head without Content-Length, data goes out as the handler
 * sends it and what the client sends is dropped. While nothing waits to
 * be sent it asks lwIP for no poll, so an open stream between events
 * needs no TCP timer at all (lwip_port/timeouts.c) and leaves an idle
 * appliance halted; a stream whose client stopped reading is cut at the
 * next send.
 *
 * lwIP's rule for a pcb closed in its own callback: tcp_close may fail
 * (no memory for the FIN), and a pcb aborted inside its own callback
 * makes that callback return ERR_ABRT. Only step() closes a connection,
 * and it says whether it aborted, so each callback returns what its own
 * step found (a pcb's memory is reused by lwIP: no flag outlives the
 * callback). */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/console.h"
#include "../../lwip_port/tcp_guard.h"
#include "httpresp.h"
#include "lwip/memp.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"

#if !MEM_STATS || !MEMP_STATS
#error "http.c shares lwIP's heap by its use counters: lwipopts.h must set MEM_STATS and MEMP_STATS"
#endif

#define POLL_INTERVAL   1       /* tcp_poll's unit: 500 ms */
#define IN_SIZE         (HTTP_HEAD_MAX + HTTP_BODY_MAX)
/* One window of input always fits while reading: the 413 below is the
 * only answer to a request too large, never a segment lost. */
_Static_assert(IN_SIZE >= TCP_WND, "a whole receive window fits the input buffer");
#define NSLOTS          (HTTP_MAX_CONNS + HTTP_MAX_REFUSING)
/* What answers leave free of lwIP's heap (MEM_SIZE) and TCP segment pool
 * (MEMP_NUM_TCP_SEG) for everything else: other clients' answers, the
 * handshakes of new connections, UDP replies, ARP. Below it each
 * connection keeps one small segment in flight at most: all of them
 * together (connections and refusals, a segment of HTTP_LWIP_SCARCE_SEG
 * bytes and its headers each) still fit in the reserve, with room left
 * for the rest. Measured: 60 clients that stopped reading took lwIP's
 * heap to 167 KiB of 192 with one full segment each. */
#define HTTP_LWIP_HEAP_RESERVE (64u << 10)
#define HTTP_LWIP_SEG_RESERVE  112
#define HTTP_LWIP_SCARCE_SEG   512
#define SEG_COST               (HTTP_LWIP_SCARCE_SEG + 128)    /* with pbuf and headers */

_Static_assert(HTTP_LWIP_HEAP_RESERVE < MEM_SIZE / 2, "the reserve leaves answers room");
_Static_assert(HTTP_MAX_CONNS * SEG_COST + HTTP_MAX_REFUSING * 256 < HTTP_LWIP_HEAP_RESERVE / 8 * 7,
	       "a small segment per connection and a 503 per refusal fit in the heap's reserve");
_Static_assert(HTTP_LWIP_SEG_RESERVE < MEMP_NUM_TCP_SEG / 2, "the reserve leaves answers room");
_Static_assert(NSLOTS < HTTP_LWIP_SEG_RESERVE, "a segment per connection fits in the reserve");

enum conn_state {
	CONN_FREE,              /* no connection in the slot */
	CONN_READING,           /* reading a request (idle while none has begun) */
	CONN_HANDLING,          /* a request is with the handler (inside step only) */
	CONN_WAITING,           /* the handler answers later (http_wait) */
	CONN_SENDING,           /* an answer is handed to TCP as it takes it */
	CONN_STREAMING,         /* a stream: data goes out as the handler sends it */
	CONN_CLOSING,           /* our side shut after the last answer: input dropped */
};

/* A close asked for from outside step(): by a handler, or found by a
 * callback. */
enum conn_end {
	END_NONE,
	END_CLOSE,              /* a plain close (an abort if lwIP cannot) */
	END_CUT,                /* the client stopped reading: reset, counted as stalled */
};

struct conn {
	enum conn_state state;
	struct tcp_pcb *pcb;    /* NULL: slot free */
	uint32_t gen;           /* changes whenever the slot is reused */
	u32_t since_ms;         /* when the state's deadline started (the table above) */
	u32_t wait_ms;          /* WAITING: its length */
	/* Input: the request being read and those pipelined behind it. */
	char *in;               /* IN_SIZE bytes; NULL in a refusing slot */
	size_t in_len;
	size_t withheld;        /* taken while not reading: TCP window not given back yet */
	/* Output. */
	char *out;              /* the answer, or a stream's backlog, not yet handed to TCP */
	size_t out_len, out_sent;
	size_t inflight;        /* handed to TCP, not yet acknowledged */
	u32_t acked_ms;         /* the last acknowledgement, or the first byte after none was out */
	bool last;              /* the answer ends the connection */
	bool unframed;          /* a body of unknown length may still come (411): linger after */
	/* Recorded for step(). */
	bool fin;               /* the client's FIN came */
	enum conn_end end;
	bool stepping;          /* step() is on the stack for it: calls only record */
};

static struct conn conns[NSLOTS];      /* HTTP_MAX_CONNS serving, then the refusing ones */
static const struct http_handlers *handlers;
static struct http_stats stats;

static bool passed(u32_t since, u32_t now, u32_t ms)
{
	return (u32_t)(now - since) >= ms;
}

static struct conn *conn_of(struct http_conn_ref ref)
{
	if (ref.slot < 0 || ref.slot >= HTTP_MAX_CONNS)
		return NULL;
	struct conn *c = &conns[ref.slot];
	return c->state != CONN_FREE && c->gen == ref.gen && c->end == END_NONE ? c : NULL;
}

static struct http_conn_ref ref_of(const struct conn *c)
{
	return (struct http_conn_ref){ (int)(c - conns), c->gen };
}

/* Frees the slot (the pcb is closed, aborted or freed by lwIP already). A
 * handler that was to answer it hears so, with a ref already stale. */
static void conn_free(struct conn *c)
{
	bool waited = c->state == CONN_WAITING;
	struct http_conn_ref ref = ref_of(c);
	if (c - conns < HTTP_MAX_CONNS)
		stats.open--;
	free(c->in);
	free(c->out);
	uint32_t gen = c->gen + 1;
	memset(c, 0, sizeof(*c));
	c->gen = gen;
	if (waited && handlers->wait_dropped)
		handlers->wait_dropped(ref);
}

/* The one way a connection ends. True: the pcb was aborted (a cut, or
 * tcp_close had no memory for the FIN). */
static bool conn_close(struct conn *c, bool cut)
{
	struct tcp_pcb *pcb = c->pcb;
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
	tcp_err(pcb, NULL);
	conn_free(c);
	/* A cut resets: a close would leave lwIP the unacknowledged bytes
	 * until it gives up on the zero window, minutes later. And resets
	 * where a client that stopped reading takes it (tcp_guard.h). */
	if (!cut && tcp_guard_close(pcb))
		return false;
	tcp_guard_reset(pcb);
	return true;
}

/* Bytes of output this connection may hand TCP now: what its send
 * buffer takes, within lwIP's heap and segment pool less the reserves
 * (an eighth kept for the segments' own headers); below them, one small
 * segment when nothing of its own is in flight. */
static size_t room(const struct conn *c)
{
	size_t r = tcp_sndbuf(c->pcb);
	size_t heap_used = lwip_stats.mem.used, heap = lwip_stats.mem.avail;
	size_t heap_free = heap > heap_used ? heap - heap_used : 0;
	const struct stats_mem *segs = lwip_stats.memp[MEMP_TCP_SEG];
	size_t segs_free = segs && segs->avail > segs->used ? (size_t)(segs->avail - segs->used) : 0;
	if (heap_free > HTTP_LWIP_HEAP_RESERVE + SEG_COST && segs_free > HTTP_LWIP_SEG_RESERVE) {
		size_t spare = (heap_free - HTTP_LWIP_HEAP_RESERVE) / 8 * 7;
		return r < spare ? r : spare;
	}
	if (c->inflight)
		return 0;
	return r < HTTP_LWIP_SCARCE_SEG ? r : HTTP_LWIP_SCARCE_SEG;
}

/* Hands TCP what room() allows of the unsent output. A write lwIP
 * refuses for lack of memory is tried again with half as much, down to a
 * byte: lwIP cuts a write into segments of at most half the largest
 * window the client offered and queues TCP_SND_QUEUELEN segments, so a
 * client that offers a 200-byte window gets 100-byte segments, and a
 * write the size of the send buffer is refused whole (such a client got
 * nothing, had nothing in flight to be cut for, and held its slot for
 * good). What is refused down to a byte gets no sent callback: the poll
 * retries it. */
static void flush(struct conn *c)
{
	while (c->out_sent < c->out_len) {
		size_t n = c->out_len - c->out_sent;
		size_t r = room(c);
		if (n > r)
			n = r;
		if (n > 0xffff)
			n = 0xffff;
		err_t err = ERR_MEM;
		while (n && (err = tcp_write(c->pcb, c->out + c->out_sent, (u16_t)n,
					     TCP_WRITE_FLAG_COPY)) == ERR_MEM)
			n /= 2;
		if (err != ERR_OK)
			break;
		if (!c->inflight)
			c->acked_ms = sys_now();
		c->inflight += n;
		c->out_sent += n;
	}
	if (c->out && c->out_sent == c->out_len) {
		free(c->out);
		c->out = NULL;
		c->out_len = c->out_sent = 0;
	}
	tcp_output(c->pcb);
}

/* Gives the client back the TCP window of what it sent while the
 * connection was not reading. */
static void give_back(struct conn *c)
{
	if (c->withheld) {
		tcp_recved(c->pcb, (u16_t)c->withheld);
		c->withheld = 0;
	}
}

static bool may_answer(const struct conn *c)
{
	return c->state == CONN_HANDLING || c->state == CONN_WAITING;
}

static bool step(struct conn *c);

/* Puts the answer to the request being handled or waited for in the
 * output; step() sends it. */
static void respond(struct conn *c, int status, const char *ctype, const char *body,
		    size_t body_len, const char *extra)
{
	if (status == 411)
		c->last = c->unframed = true;   /* where the body ends is unknown */
	if (status == 304)
		body_len = 0;   /* no content (RFC 9110 15.4.5) */
	struct http_resp h = {
		.status = status, .ctype = ctype, .length = (int64_t)body_len, .close = c->last,
		.extra = extra,
	};
	char head[HTTP_RESP_HEAD_MAX];
	int hl = http_resp_head(head, sizeof(head), &h);
	char eb[96];
	if (hl < 0 || (size_t)hl + body_len > HTTP_OUT_MAX) {
		/* A handler's mistake: a head that would break the framing, or
		 * more than a connection may hold. */
		struct outbuf o;
		out_init(&o, eb, sizeof(eb));
		http_error_body(&o, hl < 0 ? "answer head malformed" : "answer too large");
		h = (struct http_resp){ .status = 500, .ctype = "application/json",
					.length = (int64_t)o.len, .close = c->last };
		hl = http_resp_head(head, sizeof(head), &h);
		body = eb;
		body_len = o.len;
	}
	c->out = hl >= 0 ? malloc((size_t)hl + body_len) : NULL;
	if (!c->out) {
		c->end = END_CLOSE;     /* no memory for the answer */
		return;
	}
	memcpy(c->out, head, (size_t)hl);
	if (body_len)
		memcpy(c->out + hl, body, body_len);
	c->out_len = (size_t)hl + body_len;
	c->out_sent = 0;
	c->state = CONN_SENDING;
}

/* respond() with API.md's error body, {"error":msg}. */
static void respond_error(struct conn *c, int status, const char *msg, const char *extra)
{
	char buf[256];
	struct outbuf o;
	out_init(&o, buf, sizeof(buf));
	http_error_body(&o, msg);
	respond(c, status, "application/json", buf, o.len, extra);
}

void http_respond(struct http_conn_ref ref, int status, const char *ctype, const char *body,
		  size_t body_len, const char *extra)
{
	struct conn *c = conn_of(ref);
	if (!c || !may_answer(c))
		return;         /* the client went away meanwhile, or is answered */
	respond(c, status, ctype, body, body_len, extra);
	step(c);
}

void http_respond_error(struct http_conn_ref ref, int status, const char *msg, const char *extra)
{
	struct conn *c = conn_of(ref);
	if (!c || !may_answer(c))
		return;
	respond_error(c, status, msg, extra);
	step(c);
}

void http_respond_out(struct http_conn_ref ref, int status, const char *ctype,
		      const struct outbuf *o, const char *extra)
{
	if (o->overflow)
		http_respond_error(ref, 500, "answer too large", NULL);
	else
		http_respond(ref, status, ctype, o->buf, o->len, extra);
}

void http_wait(struct http_conn_ref ref, uint32_t ms)
{
	struct conn *c = conn_of(ref);
	if (!c || c->state != CONN_HANDLING)
		return;
	c->state = CONN_WAITING;
	c->since_ms = sys_now();
	c->wait_ms = ms;
}

bool http_waiting(struct http_conn_ref ref)
{
	const struct conn *c = conn_of(ref);
	return c && c->state == CONN_WAITING;
}

void http_stats(struct http_stats *s)
{
	*s = stats;
}

/* Queues len more bytes behind what is still unsent. */
static bool out_append(struct conn *c, const char *data, size_t len)
{
	size_t unsent = c->out_len - c->out_sent;
	char *o = malloc(unsent + len);
	if (!o)
		return false;
	if (unsent)
		memcpy(o, c->out + c->out_sent, unsent);
	memcpy(o + unsent, data, len);
	free(c->out);
	c->out = o;
	c->out_len = unsent + len;
	c->out_sent = 0;
	return true;
}

bool http_stream_open(struct http_conn_ref ref, const char *ctype, const char *extra)
{
	struct conn *c = conn_of(ref);
	if (!c || !may_answer(c) || c->fin)
		return false;   /* fin: a stream closes on the client's FIN */
	struct http_resp h = { .status = 200, .ctype = ctype, .length = HTTP_RESP_STREAM,
			       .close = true, .no_cache = true, .extra = extra };
	char head[HTTP_RESP_HEAD_MAX];
	int hl = http_resp_head(head, sizeof(head), &h);
	if (hl < 0 || !out_append(c, head, (size_t)hl))
		return false;
	c->state = CONN_STREAMING;
	c->in_len = 0;          /* pipelined requests behind it are not answered */
	give_back(c);
	step(c);
	return true;
}

bool http_stream_send(struct http_conn_ref ref, const char *data, size_t len)
{
	struct conn *c = conn_of(ref);
	if (!c || c->state != CONN_STREAMING)
		return false;
	if ((c->inflight && passed(c->acked_ms, sys_now(), HTTP_SEND_S * 1000u)) ||
	    c->out_len - c->out_sent + len > HTTP_OUT_MAX)
		c->end = END_CUT;       /* the client does not read: it reconnects */
	else if (len && !out_append(c, data, len))
		c->end = END_CLOSE;
	step(c);
	return c->end == END_NONE && c->state == CONN_STREAMING;
}

size_t http_stream_pending(struct http_conn_ref ref)
{
	const struct conn *c = conn_of(ref);
	if (!c || c->state != CONN_STREAMING)
		return SIZE_MAX;
	return c->out_len - c->out_sent;
}

void http_stream_close(struct http_conn_ref ref)
{
	struct conn *c = conn_of(ref);
	if (c && c->state == CONN_STREAMING) {
		c->end = END_CLOSE;
		step(c);
	}
}

/* A request the handlers never see: counted, answered, and the
 * connection closes after it. */
static void refuse(struct conn *c, int status, const char *msg)
{
	stats.bad++;
	c->last = true;
	respond_error(c, status, msg, NULL);
}

/* After the last answer: a plain close when nothing more can come, else
 * our side shut and the client's bytes dropped for HTTP_LINGER_S. */
static void end_answers(struct conn *c, u32_t now)
{
	if (c->fin || (c->in_len == 0 && !c->unframed) || tcp_shutdown(c->pcb, 0, 1) != ERR_OK) {
		c->end = END_CLOSE;
		return;
	}
	c->state = CONN_CLOSING;
	c->since_ms = now;
	c->in_len = 0;
	give_back(c);
}

/* READING: the next request, if it is all there; or the state's
 * deadlines. */
static void read_request(struct conn *c, u32_t now)
{
	give_back(c);
	if (!c->in_len) {
		if (c->fin || passed(c->since_ms, now, HTTP_IDLE_S * 1000u))
			c->end = END_CLOSE;
		return;
	}
	struct http_req r;
	int n = http_parse_head(c->in, c->in_len, &r);
	if (n < 0) {
		refuse(c, -n, -n == 505 ? "HTTP/1.x only" :
		       -n == 431 ? "request header block too large" : "malformed request");
		return;
	}
	size_t body = 0;
	if (n > 0) {
		if (r.chunked) {
			refuse(c, 411, "chunked bodies are not accepted; send Content-Length");
			return;
		}
		body = r.content_length > 0 ? (size_t)r.content_length : 0;
		if (body > HTTP_BODY_MAX) {
			refuse(c, 413, "request body larger than 4096 bytes");
			return;
		}
	}
	if (n == 0 || c->in_len < r.head_len + body) {
		/* Not all there: nothing to answer if the client is done
		 * sending; else it has HTTP_REQUEST_S from its first byte. */
		if (c->fin) {
			c->end = END_CLOSE;
		} else if (passed(c->since_ms, now, HTTP_REQUEST_S * 1000u)) {
			stats.timed_out++;
			c->last = true;
			respond_error(c, 408, "the request did not arrive within 10 s", NULL);
		}
		return;
	}
	c->state = CONN_HANDLING;
	c->last = r.close;
	handlers->request(ref_of(c), &r, c->in + r.head_len, body);
	if (c->state == CONN_HANDLING)
		respond_error(c, 500, "no answer", NULL);
	if (c->state == CONN_STREAMING || !c->in)
		return;         /* a stream reads nothing more */
	size_t used = r.head_len + body;
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
}

/* Sets what lwIP polls for: every state has a deadline to watch, but a
 * stream only while output waits to be handed to TCP. */
static err_t on_poll(void *arg, struct tcp_pcb *pcb);

static void arm_poll(struct conn *c)
{
	if (c->state == CONN_STREAMING && c->out_sent == c->out_len)
		tcp_poll(c->pcb, NULL, 0);
	else
		tcp_poll(c->pcb, on_poll, POLL_INTERVAL);
}

/* Makes every transition that what was recorded calls for. Returns true
 * when it aborted the connection's pcb: the lwIP callback of that pcb on
 * the stack must then return ERR_ABRT. Inside, handlers run and calls
 * for this connection only record; the loop goes on until the state
 * stops changing. */
static bool step(struct conn *c)
{
	if (c->stepping)
		return false;           /* the step on the stack sees what was recorded */
	c->stepping = true;
	bool aborted = false;
	for (;;) {
		u32_t now = sys_now();
		if (c->end == END_NONE && c->inflight && passed(c->acked_ms, now, HTTP_SEND_S * 1000u))
			c->end = END_CUT;
		if (c->end != END_NONE) {
			if (c->end == END_CUT)
				stats.stalled++;
			aborted = conn_close(c, c->end == END_CUT);
			break;          /* the slot is free: stepping went with it */
		}

		enum conn_state before = c->state;
		size_t in_before = c->in_len;
		switch (c->state) {
		case CONN_READING:
			read_request(c, now);
			break;
		case CONN_WAITING:
			if (passed(c->since_ms, now, c->wait_ms)) {
				handlers->wait_expired(ref_of(c));
				if (c->state == CONN_WAITING)
					c->end = END_CLOSE;
			}
			break;
		case CONN_SENDING:
			flush(c);
			if (c->out)
				break;  /* waits for room: an acknowledgement, or the poll */
			if (c->last) {
				end_answers(c, now);
			} else {
				c->state = CONN_READING;
				c->since_ms = now;
			}
			break;
		case CONN_STREAMING:
			flush(c);
			if (c->fin)
				c->end = END_CLOSE;     /* nobody reads it any more */
			break;
		case CONN_CLOSING:
			if (c->fin || passed(c->since_ms, now, HTTP_LINGER_S * 1000u))
				c->end = END_CLOSE;
			break;
		case CONN_HANDLING:     /* only inside read_request */
		case CONN_FREE:
			break;
		}
		if (c->state == before && c->end == END_NONE && c->in_len == in_before)
			break;
	}
	if (c->state != CONN_FREE) {
		arm_poll(c);
		c->stepping = false;
	}
	return aborted;
}

static err_t result(bool aborted)
{
	return aborted ? ERR_ABRT : ERR_OK;
}

/* What the client sends is kept for the next request: while reading,
 * and while an answer that does not end the connection is pending. */
static bool keeps_input(const struct conn *c)
{
	return c->state == CONN_READING ||
	       ((c->state == CONN_WAITING || c->state == CONN_SENDING) && !c->last);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;
	if (err != ERR_OK || !p) {
		if (p)
			pbuf_free(p);
		if (err != ERR_OK)
			c->end = END_CLOSE;
		else
			c->fin = true;  /* answer what already came, then close */
		return result(step(c));
	}
	if (!keeps_input(c)) {
		/* CLOSING, a stream, or the last answer pending: dropped (and
		 * a lingering connection's time runs on). */
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	if (c->state != CONN_READING && c->in_len + p->tot_len > IN_SIZE) {
		/* No room while an answer is pending: lwIP keeps the segment
		 * and offers it again later (flow control, nothing lost). */
		return ERR_MEM;
	}
	u16_t off = 0;
	bool aborted = false;
	while (off < p->tot_len && c->pcb == pcb && keeps_input(c)) {
		size_t room_in = IN_SIZE - c->in_len;
		size_t left = (size_t)(p->tot_len - off);
		size_t n = left < room_in ? left : room_in;
		if (n == 0) {
			/* Only while reading (IN_SIZE >= TCP_WND: while an answer is
			 * pending a segment that does not fit waits, ERR_MEM above):
			 * a request larger than head and body limits together,
			 * pipelined past them: say so and stop reading. */
			if (c->state != CONN_READING)
				break;  /* cannot be: see IN_SIZE; never refuse over an answer */
			refuse(c, 413, "request larger than the 8 KiB head and 4 KiB body limits");
			aborted = step(c);
			break;
		}
		pbuf_copy_partial(p, c->in + c->in_len, (u16_t)n, off);
		if (c->state == CONN_READING) {
			if (!c->in_len)
				c->since_ms = sys_now();        /* a request's first byte */
			tcp_recved(pcb, (u16_t)n);
		} else {
			c->withheld += n;       /* given back when the connection reads again */
		}
		c->in_len += n;
		off = (u16_t)(off + n);
		aborted = step(c);
	}
	if (off < p->tot_len && c->pcb == pcb)
		tcp_recved(pcb, (u16_t)(p->tot_len - off));     /* dropped */
	pbuf_free(p);
	return result(aborted);
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)pcb;
	struct conn *c = arg;
	c->inflight -= len < c->inflight ? len : c->inflight;
	c->acked_ms = sys_now();
	if (c->state == CONN_READING && !c->in_len)
		c->since_ms = c->acked_ms;      /* traffic: not silent */
	return result(step(c));
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
	(void)pcb;
	return result(step(arg));
}

static void on_err(void *arg, err_t err)
{
	(void)err;
	struct conn *c = arg;
	if (c)
		conn_free(c);   /* lwIP already freed the pcb */
}

/* ---- connections beyond HTTP_MAX_CONNS ------------------------------- */

static char full_answer[256];    /* the whole 503, made by http_init */
static size_t full_len;

static void make_full_answer(void)
{
	char msg[80], body[128];
	snprintf(msg, sizeof(msg), "all %d connections are in use; retry in a second",
		 HTTP_MAX_CONNS);
	struct outbuf o;
	out_init(&o, body, sizeof(body));
	http_error_body(&o, msg);
	struct http_resp h = { .status = 503, .ctype = "application/json",
			       .length = (int64_t)o.len, .close = true, .retry_after = 1 };
	int hl = http_resp_head(full_answer, sizeof(full_answer), &h);
	full_len = hl > 0 && !o.overflow && (size_t)hl + o.len < sizeof(full_answer) ?
		   (size_t)hl + o.len : 0;
	if (full_len)
		memcpy(full_answer + hl, body, o.len);
}

static void conn_start(struct conn *c, struct tcp_pcb *pcb, enum conn_state state)
{
	uint32_t gen = c->gen;
	memset(c, 0, sizeof(*c));
	c->gen = gen;
	c->pcb = pcb;
	c->state = state;
	c->since_ms = c->acked_ms = sys_now();
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_poll(pcb, on_poll, POLL_INTERVAL);
	tcp_err(pcb, on_err);
	tcp_nagle_disable(pcb);
}

/* A connection with no serving slot: the 503 and our FIN at once, then
 * CLOSING like any other. ERR_ABRT: that was not possible (every
 * refusing slot in use, or no memory for the answer) and the pcb is
 * reset. */
static err_t refuse_conn(struct tcp_pcb *pcb)
{
	stats.refused++;
	struct conn *c = NULL;
	for (int i = HTTP_MAX_CONNS; i < NSLOTS && !c; i++)
		if (conns[i].state == CONN_FREE)
			c = &conns[i];
	if (!c || !full_len || tcp_sndbuf(pcb) < full_len ||
	    tcp_write(pcb, full_answer, (u16_t)full_len, TCP_WRITE_FLAG_COPY) != ERR_OK ||
	    tcp_shutdown(pcb, 0, 1) != ERR_OK) {
		stats.reset++;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	conn_start(c, pcb, CONN_CLOSING);
	c->inflight = full_len;
	c->last = true;
	return ERR_OK;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	struct conn *c = NULL;
	for (int i = 0; i < HTTP_MAX_CONNS && !c; i++)
		if (conns[i].state == CONN_FREE)
			c = &conns[i];
	char *in = c ? malloc(IN_SIZE) : NULL;
	if (!in)
		return refuse_conn(pcb);
	stats.open++;
	conn_start(c, pcb, CONN_READING);
	c->in = in;
	return ERR_OK;
}

void http_init(uint16_t port, const struct http_handlers *h)
{
	handlers = h;
	make_full_answer();
	struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (!pcb || tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
		kprintf("http: cannot bind tcp port %u\n", port);
		return;
	}
	pcb = tcp_listen(pcb);         /* backlog: half-open bound, lwipopts.h */
	tcp_accept(pcb, on_accept);
	kprintf("http: listening on tcp port %u\n", port);
}
