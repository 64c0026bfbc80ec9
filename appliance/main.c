/* main.c - the appliance: what the kernel runs on the BSP once every core
 * is up. Brings up the network and the services, then serves from the
 * BSP loop. */
#include <stdint.h>
#include <string.h>

#include "../drivers/virtio_net/virtio_net.h"
#include "../kernel/app.h"
#include "../kernel/cmdline.h"
#include "../kernel/console.h"
#include "../lwip_port/net.h"
#include "../smp/sched.h"
#include "http/http.h"
#include "jobs/jobs.h"
#include "udp_compute/udp_compute.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

/* Test-only: test_udp_echo=PORT echoes datagrams on PORT. */
static void echo_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
		      u16_t port)
{
	(void)arg;
	udp_sendto(pcb, p, addr, port);
	pbuf_free(p);
}

static void start_echo(void)
{
	uint64_t port;
	if (!cmdline_get_u64(&boot_cmdline, "test_udp_echo", 1, 65535, 0, &port) || !port)
		return;
	struct udp_pcb *pcb = udp_new();
	if (pcb && udp_bind(pcb, IP_ANY_TYPE, (u16_t)port) == ERR_OK) {
		udp_recv(pcb, echo_recv, NULL);
		kprintf("echo: udp port %lu\n", (unsigned long)port);
	}
}

static void poll(void)
{
	net_poll();
	jobs_poll();
}

static uint16_t port_option(const char *key, uint16_t def)
{
	uint64_t port;
	if (!cmdline_get_u64(&boot_cmdline, key, 1, 65535, def, &port))
		kprintf("appliance: %s is not a port number 1..65535; using %u\n", key, def);
	return (uint16_t)port;
}

static const struct bsp_ops bsp_ops = {
	.poll = poll,
	.next_deadline_ns = net_next_deadline_ns,
};

void app_main(void)
{
	const char *floor = cmdline_get(&boot_cmdline, "bench_floor");
	if (floor) {
		/* The benchmark's floors: nothing but halted cores, the NIC
		 * untouched (1) or driven with its RX ring filled (2). */
		static const struct bsp_ops none;
		if (!strcmp(floor, "2"))
			vnet_init();
		kprintf("appliance: bench_floor=%s, halting\n", floor);
		sched_bsp_loop(&none);
	}
	jobs_init();
	struct netdev *nd = vnet_init();
	if (nd) {
		net_init(nd, cmdline_get(&boot_cmdline, "ip"));
		start_echo();
		udp_compute_init(port_option("udp_port", 5555));
		http_init(port_option("http_port", 80));
	} else {
		kprintf("appliance: no network device; serving nothing\n");
	}
	kprintf("appliance: ready\n");
	sched_bsp_loop(&bsp_ops);
}
