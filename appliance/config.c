/* config.c - the command line into a struct boot_config, once. */
#include "config.h"

#include <string.h>

#include "../kernel/console.h"

static uint16_t port_option(const struct cmdline *cl, const char *key, uint16_t def)
{
	uint64_t port;
	if (!cmdline_get_u64(cl, key, 1, 65535, def, &port))
		kprintf("config: %s is not a port number 1..65535; using %u\n", key, def);
	return (uint16_t)port;
}

uint64_t config_number(const struct cmdline *cl, const char *key, uint64_t min, uint64_t max)
{
	uint64_t v;
	if (!cmdline_get_u64(cl, key, min, max, 0, &v))
		kprintf("config: %s is not a number %lu..%lu; ignored\n", key, (unsigned long)min,
			(unsigned long)max);
	return v;
}

void config_parse(const struct cmdline *cl, struct boot_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (cl->truncated || cl->dropped)
		kprintf("config: command line cut to %d bytes and %d options\n", CMDLINE_MAX - 1,
			CMDLINE_MAX_OPTS);
	cfg->ip = cmdline_get(cl, "ip");
	cfg->udp_port = port_option(cl, "udp_port", 5555);
	cfg->http_port = port_option(cl, "http_port", 80);
	cfg->token = cmdline_get(cl, "token");
	if (cfg->token && !*cfg->token)
		cfg->token = NULL;
	const char *allow = cmdline_get(cl, "udp_allow");
	if (allow && ipcfg_parse_nets(allow, &cfg->udp_allow) != 0) {
		/* Refuse every source rather than fall open: 0.0.0.0/32 matches
		 * none that can reach us. */
		kprintf("config: udp_allow=%s is not <addr>/<prefix>[,...] (at most %d); "
			"no UDP source is allowed\n", allow, IPCFG_NETS_MAX);
		ipcfg_parse_nets("0.0.0.0/32", &cfg->udp_allow);
	}
	cfg->max_job_s = config_number(cl, "max_job_s", 1, 1000000000);
	const char *pl = cmdline_get(cl, "placement");
	cfg->placement = pl && !strcmp(pl, "pack") ? PLACE_PACK : PLACE_SPREAD;
	if (pl && strcmp(pl, "pack") && strcmp(pl, "spread"))
		kprintf("config: placement=%s is not spread or pack; using spread\n", pl);
	const char *sc = cmdline_get(cl, "sched");
	cfg->sched = sc && !strcmp(sc, "task") ? WORKTAB_TASK : WORKTAB_SHARE;
	if (sc && strcmp(sc, "task") && strcmp(sc, "share"))
		kprintf("config: sched=%s is not share or task; using share\n", sc);
}

