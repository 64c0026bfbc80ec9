/* http.c - the TCP listener on http_port. The JSON control plane of
 * API.md section 3 is not built yet: until it is, every request gets a
 * well-formed HTTP/1.1 501 with a JSON error body and the connection is
 * closed, so curl and browsers see a clear answer instead of a reset.
 * A connection silent for HTTP_IDLE_S seconds is closed. */
#include "http.h"

#include <stdio.h>
#include <string.h>

#include "../../kernel/console.h"
#include "lwip/tcp.h"

#define HTTP_IDLE_S     20
#define POLL_PER_S      2       /* tcp_poll interval is in 500 ms units */

static const char body[] = "{\"error\":\"the HTTP control plane is not built yet\"}\n";
static char reply[256];
static int reply_len;

struct conn {
	int idle_polls;
	int answered;
};

static struct conn conns[32];

static void conn_close(struct tcp_pcb *pcb, struct conn *c)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
	tcp_err(pcb, NULL);
	if (c)
		c->answered = -1;       /* slot free */
	if (tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;
	if (!p || err != ERR_OK) {
		if (p)
			pbuf_free(p);
		conn_close(pcb, c);
		return ERR_OK;
	}
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	c->idle_polls = 0;
	if (!c->answered) {
		c->answered = 1;
		tcp_write(pcb, reply, (u16_t)reply_len, 0);
		tcp_output(pcb);
		conn_close(pcb, c);
	}
	return ERR_OK;
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
	struct conn *c = arg;
	if (++c->idle_polls >= HTTP_IDLE_S * POLL_PER_S)
		conn_close(pcb, c);
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	struct conn *c = arg;
	(void)err;
	if (c)
		c->answered = -1;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	struct conn *c = NULL;
	for (unsigned i = 0; i < sizeof(conns) / sizeof(conns[0]); i++)
		if (conns[i].answered == -1) {
			c = &conns[i];
			break;
		}
	if (!c) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	c->answered = 0;
	c->idle_polls = 0;
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_poll(pcb, on_poll, 1);
	tcp_err(pcb, on_err);
	return ERR_OK;
}

void http_init(uint16_t port)
{
	reply_len = snprintf(reply, sizeof(reply),
			     "HTTP/1.1 501 Not Implemented\r\nContent-Type: application/json\r\n"
			     "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
			     sizeof(body) - 1, body);
	for (unsigned i = 0; i < sizeof(conns) / sizeof(conns[0]); i++)
		conns[i].answered = -1;
	struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (!pcb || tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
		kprintf("http: cannot bind tcp port %u\n", port);
		return;
	}
	pcb = tcp_listen(pcb);
	tcp_accept(pcb, on_accept);
	kprintf("http: listening on tcp port %u\n", port);
}
