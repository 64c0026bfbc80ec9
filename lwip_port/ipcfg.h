/* ipcfg.h - the ip= boot parameter (API.md section 4):
 *   ip=dhcp | ip=<addr>/<prefix>[,<gateway>]
 * Pure: also built into the host unit tests. Addresses in host order. */
#ifndef LWIP_PORT_IPCFG_H
#define LWIP_PORT_IPCFG_H

#include <stdbool.h>
#include <stdint.h>

struct ipcfg {
	bool dhcp;
	uint32_t addr;
	uint32_t mask;
	uint32_t gw;            /* 0 when none given */
};

/* The fallback when DHCP gets no lease: 10.0.2.15/24, gateway 10.0.2.2
 * (QEMU user networking's defaults). */
void ipcfg_fallback(struct ipcfg *c);
/* 0, or -1 for a malformed value (then *c is the DHCP default). */
int ipcfg_parse(const char *s, struct ipcfg *c);
/* A list of networks, as udp_allow= gives it:
 *   <addr>/<prefix>[,<addr>/<prefix>...]   prefix 0..32
 * An address matches when it is in one of them. */
#define IPCFG_NETS_MAX 16
struct ipnets {
	int n;
	struct {
		uint32_t net, mask;     /* net already masked */
	} net[IPCFG_NETS_MAX];
};

/* 0, or -1 for a malformed list or more than IPCFG_NETS_MAX entries
 * (then *l is empty). */
int ipcfg_parse_nets(const char *s, struct ipnets *l);
bool ipcfg_nets_match(const struct ipnets *l, uint32_t addr);

/* Parses a dotted quad; false unless it is exactly four numbers 0..255. */
bool ipcfg_parse_addr(const char *s, const char *end, uint32_t *out);

#endif
