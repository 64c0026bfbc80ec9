/* http.c - the HTTP/1.1 connection layer over lwIP's raw TCP API, on the
 * BSP. Each connection buffers requests (head up to 8 KiB, body up to
 * 4 KiB), hands each complete one to the handlers, sends the answer, and
 * goes on with the next (pipelining) unless the client asked to close; a
 * connection silent for HTTP_IDLE_S seconds is closed. Answers longer than
 * the TCP send buffer go out as the client acknowledges (the sent
 * callback). When the client half-closes (FIN after its requests, as
 * `nc -N` does), every request that came is still answered, then the
 * connection closes. After an error that loses the request framing, the
 * answer goes out, our side is shut, and what the client still sends is
 * read and dropped for HTTP_LINGER_S, so the answer is not lost to a
 * reset. A connection beyond HTTP_MAX_CONNS gets a fixed 503 at once
 * (no slot, no input buffer: a few callbacks on the bare pcb) and is
 * closed the same way; only when HTTP_MAX_REFUSING of those are already
 * lingering, or lwIP has no memory for the answer, is it reset.
 *
 * A handler may turn its connection into a stream (Server-Sent Events):
 * after a head without Content-Length, data goes out as the handler
 * sends it, what the client sends is dropped, and the connection is
 * never closed as idle. While nothing waits to be sent it asks lwIP for
 * no poll, so an open stream between events needs no TCP timer at all
 * (lwip_port/timeouts.c) and leaves an idle appliance halted. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernel/console.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"

#define POLLS_PER_S     2       /* tcp_poll runs every 500 ms */
#define HTTP_LINGER_S   2
#define IN_SIZE         (HTTP_HEAD_MAX + HTTP_BODY_MAX)

struct conn {
	struct tcp_pcb *pcb;    /* NULL: slot free */
	uint32_t gen;           /* changes whenever the slot is reused */
	char *in;               /* IN_SIZE bytes */
	size_t in_len;
	char *out;              /* the answer being sent */
	size_t out_len, out_sent;
	bool close_after;       /* close once the current answer is out */
	bool in_process;        /* process() is on the stack: flush must not re-enter */
	bool close_done;        /* the last answer went out; close when safe */
	bool peer_closed;       /* the client sent FIN: answer what came, then close */
	bool lingering;         /* our side shut; reading and dropping until close */
	bool unframed;          /* a body of unknown length may still come: linger */
	bool deferred;          /* a handler answers later */
	bool stream;            /* a stream: no more requests, no idle close */
	uint64_t defer_tag;
	/* sys_now() at the last traffic. The silence is measured in time,
	 * not in polls: a poll that comes late (a busy or descheduled
	 * core) must not stretch every later one. */
	u32_t active_ms;
};

static struct conn conns[HTTP_MAX_CONNS];
static const struct http_handlers *handlers;
static struct http_stats stats;
/* The pcb conn_close last had to abort: the lwIP callback of that pcb on
 * the stack must then return ERR_ABRT (lwIP's rule for a pcb aborted in
 * its own callback). Answers to other connections (a deferred answer sent
 * from the BSP loop) never run inside a callback, but a handler may answer
 * its own connection from inside one, hence the pcb, not a flag. */
static struct tcp_pcb *aborted_pcb;

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static struct conn *conn_of(struct http_conn_ref ref)
{
	if (ref.slot < 0 || ref.slot >= HTTP_MAX_CONNS)
		return NULL;
	struct conn *c = &conns[ref.slot];
	return c->pcb && c->gen == ref.gen ? c : NULL;
}

static struct http_conn_ref ref_of(const struct conn *c)
{
	return (struct http_conn_ref){ (int)(c - conns), c->gen };
}

static void conn_free(struct conn *c)
{
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->pcb = NULL;
	c->deferred = false;
	c->gen++;
	stats.open--;
}

static void conn_close(struct conn *c)
{
	struct tcp_pcb *pcb = c->pcb;
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
	tcp_err(pcb, NULL);
	conn_free(c);
	if (tcp_close(pcb) != ERR_OK) {
		tcp_abort(pcb);
		aborted_pcb = pcb;
	}
}

/* The answer is out and the request framing was lost: shut our side and
 * drop what still comes until the client closes or HTTP_LINGER_S pass. */
static void conn_linger(struct conn *c)
{
	if (tcp_shutdown(c->pcb, 0, 1) != ERR_OK) {
		conn_close(c);
		return;
	}
	c->lingering = true;
	c->active_ms = sys_now();
	c->in_len = 0;
}

static void conn_end(struct conn *c)
{
	if (c->lingering)
		return;
	if (c->peer_closed || (c->in_len == 0 && !c->unframed))
		conn_close(c);  /* nothing more comes, or nothing unread: a plain close */
	else
		conn_linger(c);
}

static err_t callback_result(struct tcp_pcb *pcb)
{
	if (aborted_pcb != pcb)
		return ERR_OK;
	aborted_pcb = NULL;
	return ERR_ABRT;
}

static void process(struct conn *c);
static err_t on_poll(void *arg, struct tcp_pcb *pcb);

/* Writes what the send buffer takes; closes or reads on when done. */
static void flush(struct conn *c)
{
	while (c->out && c->out_sent < c->out_len) {
		size_t n = c->out_len - c->out_sent;
		size_t room = tcp_sndbuf(c->pcb);
		if (n > room)
			n = room;
		if (n > 0xffff)
			n = 0xffff;
		if (!n || tcp_write(c->pcb, c->out + c->out_sent, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		c->out_sent += n;
	}
	tcp_output(c->pcb);
	if (c->stream) {
		if (c->out && c->out_sent == c->out_len) {
			free(c->out);
			c->out = NULL;
		}
		/* Polled only while something waits (a write refused for
		 * lack of memory gets no sent callback). */
		if (c->out)
			tcp_poll(c->pcb, on_poll, 1);
		else
			tcp_poll(c->pcb, NULL, 0);
		return;
	}
	if (c->out && c->out_sent == c->out_len) {
		free(c->out);
		c->out = NULL;
		if (c->close_after) {
			c->close_done = true;
			if (!c->in_process)
				conn_end(c);
			return;
		}
		if (!c->in_process)
			process(c);     /* pipelined requests waiting in the buffer */
	}
}

void http_respond(struct http_conn_ref ref, int status, const char *ctype, const char *body,
		  size_t body_len, const char *extra)
{
	struct conn *c = conn_of(ref);
	if (!c || c->out || c->lingering || c->stream)
		return;         /* the client went away meanwhile (or is still being answered) */
	c->deferred = false;
	if (status == 411)
		c->close_after = c->unframed = true;    /* where the body ends is unknown */
	char head[512];
	int hl;
	if (status == 304) {    /* no content, and no Content-Length but the 200's (RFC 9110 8.6) */
		body_len = 0;
		hl = snprintf(head, sizeof(head), "HTTP/1.1 304 %s\r\nConnection: %s\r\n%s\r\n",
			      reason(304), c->close_after ? "close" : "keep-alive", extra ? extra : "");
	} else {
		hl = snprintf(head, sizeof(head),
			      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			      "Connection: %s\r\n%s\r\n",
			      status, reason(status), ctype, body_len,
			      c->close_after ? "close" : "keep-alive", extra ? extra : "");
	}
	c->out = malloc((size_t)hl + body_len);
	if (!c->out) {
		c->close_after = c->close_done = true;
		if (!c->in_process)
			conn_close(c);
		return;
	}
	memcpy(c->out, head, (size_t)hl);
	if (body_len)
		memcpy(c->out + hl, body, body_len);
	c->out_len = (size_t)hl + body_len;
	c->out_sent = 0;
	flush(c);
}

void http_respond_error(struct http_conn_ref ref, int status, const char *msg, const char *extra)
{
	char buf[256];
	struct outbuf o;
	out_init(&o, buf, sizeof(buf));
	render_error(&o, msg);
	http_respond(ref, status, "application/json", buf, o.len, extra);
}

void http_respond_out(struct http_conn_ref ref, int status, const char *ctype,
		      const struct outbuf *o, const char *extra)
{
	if (o->overflow)
		http_respond_error(ref, 500, "answer too large", NULL);
	else
		http_respond(ref, status, ctype, o->buf, o->len, extra);
}

bool http_deferred(struct http_conn_ref ref, uint64_t tag)
{
	const struct conn *c = conn_of(ref);
	return c && c->deferred && c->defer_tag == tag;
}

void http_defer(struct http_conn_ref ref, uint64_t tag)
{
	struct conn *c = conn_of(ref);
	if (c && !c->out && !c->stream) {
		c->deferred = true;
		c->defer_tag = tag;
	}
}

void http_stats(struct http_stats *s)
{
	*s = stats;
}

/* Queues len more bytes behind what is still unsent. */
static bool out_append(struct conn *c, const char *data, size_t len)
{
	size_t unsent = c->out ? c->out_len - c->out_sent : 0;
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
	if (!c || c->out || c->lingering || c->stream || c->peer_closed)
		return false;   /* peer_closed: a stream closes on the client's FIN */
	char head[512];
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-cache\r\n"
			  "Connection: close\r\n%s\r\n", ctype, extra ? extra : "");
	if (hl < 0 || (size_t)hl >= sizeof(head) || !out_append(c, head, (size_t)hl))
		return false;
	c->deferred = false;
	c->stream = true;
	c->in_len = 0;          /* pipelined requests behind it are not answered */
	flush(c);
	return true;
}

bool http_stream_send(struct http_conn_ref ref, const char *data, size_t len)
{
	struct conn *c = conn_of(ref);
	if (!c || !c->stream)
		return false;
	size_t unsent = c->out ? c->out_len - c->out_sent : 0;
	if (unsent + len > HTTP_STREAM_BACKLOG || !out_append(c, data, len)) {
		conn_close(c);  /* the client does not read: it reconnects */
		return false;
	}
	flush(c);
	return true;
}

size_t http_stream_pending(struct http_conn_ref ref)
{
	const struct conn *c = conn_of(ref);
	if (!c || !c->stream)
		return SIZE_MAX;
	return c->out ? c->out_len - c->out_sent : 0;
}

void http_stream_close(struct http_conn_ref ref)
{
	struct conn *c = conn_of(ref);
	if (c && c->stream)
		conn_close(c);
}

/* A request the handlers never see: counted, answered, and the
 * connection closes after it. */
static void refuse(struct conn *c, int status, const char *msg)
{
	stats.bad++;
	c->close_after = true;
	http_respond_error(ref_of(c), status, msg, NULL);
}

/* Answers every complete request in the buffer, one at a time. */
static void process_requests(struct conn *c)
{
	while (c->pcb && !c->out && !c->deferred && c->in_len && !c->close_done && !c->stream) {
		struct http_req r;
		int n = http_parse_head(c->in, c->in_len, &r);
		if (n == 0) {
			if (c->in_len >= HTTP_HEAD_MAX)
				refuse(c, 431, "request header block too large");
			return;
		}
		if (n < 0) {
			refuse(c, -n, -n == 505 ? "HTTP/1.x only" :
			       -n == 431 ? "request header block too large" : "malformed request");
			return;
		}
		c->close_after = r.close;
		if (r.chunked) {
			refuse(c, 411, "chunked bodies are not accepted; send Content-Length");
			return;
		}
		size_t body = r.content_length > 0 ? (size_t)r.content_length : 0;
		if (body > HTTP_BODY_MAX) {
			refuse(c, 413, "request body larger than 4096 bytes");
			return;
		}
		if (c->in_len < r.head_len + body)
			return;         /* the body is still coming */
		handlers->request(ref_of(c), &r, c->in + r.head_len, body);
		if (!c->pcb || !c->in || c->stream)
			return;         /* closed while answering, or now a stream */
		size_t used = r.head_len + body;
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
	}
}

static bool busy(const struct conn *c)
{
	return c->out || c->deferred;
}

static void process(struct conn *c)
{
	c->in_process = true;
	process_requests(c);
	c->in_process = false;
	if (!c->pcb)
		return;
	/* An answer sent completely inside may have asked to close; a client
	 * that half-closed is done once every request it sent is answered. */
	if (!c->out && c->close_done)
		conn_end(c);
	else if (c->peer_closed && !busy(c) && !c->close_done)
		conn_close(c);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;
	aborted_pcb = NULL;
	if (err != ERR_OK) {
		if (p)
			pbuf_free(p);
		conn_close(c);
		return callback_result(pcb);
	}
	if (!p) {
		/* FIN: answer what already came, then close. */
		c->peer_closed = true;
		if (c->lingering || c->stream)
			conn_close(c);
		else
			process(c);
		return callback_result(pcb);
	}
	if (c->lingering || c->stream) {
		tcp_recved(pcb, p->tot_len);    /* dropped: the answer is out */
		pbuf_free(p);
		return ERR_OK;                  /* and the linger time runs on */
	}
	c->active_ms = sys_now();
	if (c->in_len + p->tot_len > IN_SIZE && busy(c)) {
		/* No room while an answer is pending: lwIP keeps the segment
		 * and offers it again later (flow control, nothing lost). */
		return ERR_MEM;
	}
	u16_t off = 0;
	while (off < p->tot_len && c->pcb && !c->lingering && !c->stream) {
		size_t room = IN_SIZE - c->in_len;
		size_t left = (size_t)(p->tot_len - off);
		size_t n = left < room ? left : room;
		if (n == 0) {
			/* A request larger than head and body limits together,
			 * pipelined past them: say so and stop reading. */
			refuse(c, 413, "request larger than the 8 KiB head and 4 KiB body limits");
			break;
		}
		pbuf_copy_partial(p, c->in + c->in_len, (u16_t)n, off);
		c->in_len += n;
		off = (u16_t)(off + n);
		tcp_recved(pcb, (u16_t)n);
		process(c);
	}
	if (off < p->tot_len && c->pcb)
		tcp_recved(pcb, (u16_t)(p->tot_len - off));     /* dropped */
	pbuf_free(p);
	return callback_result(pcb);
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)len;
	struct conn *c = arg;
	aborted_pcb = NULL;
	c->active_ms = sys_now();
	flush(c);
	return callback_result(pcb);
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
	struct conn *c = arg;
	aborted_pcb = NULL;
	if (c->lingering) {
		if (sys_now() - c->active_ms >= HTTP_LINGER_S * 1000u)
			conn_close(c);
		return callback_result(pcb);
	}
	if (c->deferred) {
		c->active_ms = sys_now();       /* waiting for a handler is not silence */
		handlers->deferred_poll(ref_of(c), c->defer_tag);
		return callback_result(pcb);
	}
	if (c->out || c->stream) {
		/* A write refused for lack of memory gets no sent callback:
		 * retry here. Pending output is not idleness, nor is a stream. */
		c->active_ms = sys_now();
		flush(c);
		return callback_result(pcb);
	}
	if (sys_now() - c->active_ms >= HTTP_IDLE_S * 1000u)
		conn_close(c);
	return callback_result(pcb);
}

static void on_err(void *arg, err_t err)
{
	(void)err;
	struct conn *c = arg;
	if (c)
		conn_free(c);   /* lwIP already freed the pcb */
}

/* ---- connections beyond HTTP_MAX_CONNS --------------------------------
 * They hold no slot and no buffer: the pcb's callback argument is the
 * constant below. The 503 goes out from the accept callback, our side is
 * shut after it, and what the client sends (its request) is read and
 * dropped until it closes or HTTP_LINGER_S pass (one tcp_poll interval),
 * so the answer is not destroyed by a reset. */

static char full_answer[256];    /* the whole 503, made by http_init */
static size_t full_len;

static void make_full_answer(void)
{
	char body[128];
	int bl = snprintf(body, sizeof(body),
			  "{\"error\":\"all %d connections are in use; retry in a second\"}\n",
			  HTTP_MAX_CONNS);
	int n = snprintf(full_answer, sizeof(full_answer),
			 "HTTP/1.1 503 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
			 "Retry-After: 1\r\nConnection: close\r\n\r\n%s",
			 reason(503), bl, body);
	full_len = n > 0 && (size_t)n < sizeof(full_answer) ? (size_t)n : 0;
}

static int refusing;            /* pcbs of refused connections still ours */
static char refusing_tag;       /* their callback argument */

static void refused_end(struct tcp_pcb *pcb, bool *aborted)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
	tcp_err(pcb, NULL);
	refusing--;
	*aborted = false;
	if (tcp_close(pcb) != ERR_OK) {
		tcp_abort(pcb);
		*aborted = true;
	}
}

static err_t refused_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (p) {
		tcp_recved(pcb, p->tot_len);    /* dropped: the 503 is the answer */
		pbuf_free(p);
		return ERR_OK;
	}
	bool aborted;
	refused_end(pcb, &aborted);     /* the client closed: so do we */
	return aborted ? ERR_ABRT : ERR_OK;
}

static err_t refused_poll(void *arg, struct tcp_pcb *pcb)
{
	(void)arg;
	bool aborted;
	refused_end(pcb, &aborted);     /* HTTP_LINGER_S passed */
	return aborted ? ERR_ABRT : ERR_OK;
}

static void refused_err(void *arg, err_t err)
{
	(void)arg;
	(void)err;
	refusing--;                     /* lwIP freed the pcb (a reset) */
}

/* A connection that gets no slot: the 503 and our FIN, then it lingers
 * without state. ERR_ABRT: that was not possible (too many lingering
 * already, or no memory for the answer) and the pcb is reset. */
static err_t refuse_conn(struct tcp_pcb *pcb)
{
	stats.refused++;
	if (refusing >= HTTP_MAX_REFUSING || !full_len || tcp_sndbuf(pcb) < full_len ||
	    tcp_write(pcb, full_answer, (u16_t)full_len, TCP_WRITE_FLAG_COPY) != ERR_OK ||
	    tcp_shutdown(pcb, 0, 1) != ERR_OK) {
		stats.reset++;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	refusing++;
	tcp_arg(pcb, &refusing_tag);
	tcp_recv(pcb, refused_recv);
	tcp_poll(pcb, refused_poll, HTTP_LINGER_S * POLLS_PER_S);
	tcp_err(pcb, refused_err);
	tcp_nagle_disable(pcb);
	return ERR_OK;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	struct conn *c = NULL;
	for (int i = 0; i < HTTP_MAX_CONNS && !c; i++)
		if (!conns[i].pcb)
			c = &conns[i];
	char *in = c ? malloc(IN_SIZE) : NULL;
	if (!in)
		return refuse_conn(pcb);
	uint32_t gen = c->gen;
	memset(c, 0, sizeof(*c));
	c->gen = gen;
	c->pcb = pcb;
	c->in = in;
	c->active_ms = sys_now();
	stats.open++;
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_poll(pcb, on_poll, 1);
	tcp_err(pcb, on_err);
	tcp_nagle_disable(pcb);
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
