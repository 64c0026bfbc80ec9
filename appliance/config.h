/* config.h - the boot configuration: the kernel command line (API.md
 * section 4 and the README's test options), parsed once at boot and handed
 * to each init by main.c. No other file reads the command line. */
#ifndef APPLIANCE_CONFIG_H
#define APPLIANCE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "../kernel/cmdline.h"
#include "../lwip_port/ipcfg.h"
#include "../smp/sched.h"
#include "../smp/smp.h"

/* Test and benchmark options: used only by testhooks.c and the boot order
 * that hands them there. */
struct test_config {
	struct smp_test smp;    /* test_dead_ap=N: core N never gets a SIPI;
				 * test_late_ap=N: only after its timeout */
	const char *panic_test; /* panic_test=ud|pf|...|apsmash (testhooks.c), or NULL */
	uint16_t udp_echo;      /* test_udp_echo=PORT, 0 none */
	bool log_jobs;          /* test_log_jobs=1 */
	int bench_floor;        /* bench_floor=1|2, 0 none */
	bool speed;             /* test_speed=1: time a small workload at boot */
};

struct boot_config {
	const char *ip;         /* ip= as given, NULL for dhcp */
	uint16_t udp_port;      /* udp_port=, default 5555 */
	uint16_t http_port;     /* http_port=, default 80 */
	const char *token;      /* token=, NULL when absent or empty */
	struct ipnets udp_allow;        /* udp_allow=; n == 0: every source */
	uint64_t max_job_s;     /* max_job_s=, 0: no cap */
	enum sched_placement placement;
	enum worktab_policy sched;      /* sched=share|task, default share */
	struct test_config test;
};

/* Fills cfg from cl; a malformed value is reported on the console and its
 * default used. cfg's strings point into cl, which must outlive it. */
void config_parse(const struct cmdline *cl, struct boot_config *cfg);


#endif
