/* config.h - the boot configuration: the kernel command line (API.md
 * section 4 and the README's boot parameters), parsed once at boot and
 * handed to each init by boot.c. No other file of the product reads the
 * command line (a test image reads its own options, tests/image/). */
#ifndef APPLIANCE_CONFIG_H
#define APPLIANCE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "../kernel/cmdline.h"
#include "../lwip_port/ipcfg.h"
#include "../smp/sched.h"

struct boot_config {
	const char *ip;         /* ip= as given, NULL for dhcp */
	uint16_t udp_port;      /* udp_port=, default 5555 */
	uint16_t http_port;     /* http_port=, default 80 */
	const char *token;      /* token=, NULL when absent or empty */
	struct ipnets udp_allow;        /* udp_allow=; n == 0: every source */
	uint64_t max_job_s;     /* max_job_s=, 0: no cap */
	enum sched_placement placement;
	enum worktab_policy sched;      /* sched=share|task, default share */
};

/* Fills cfg from cl; a malformed value is reported on the console and its
 * default used. cfg's strings point into cl, which must outlive it. */
void config_parse(const struct cmdline *cl, struct boot_config *cfg);
/* The number option key in [min, max]: 0 when absent, and when malformed
 * (then reported on the console). */
uint64_t config_number(const struct cmdline *cl, const char *key, uint64_t min, uint64_t max);


#endif
