/* testconfig.h - the test image's own options, read from the command line
 * that boot_platform kept (the product's options are read there too, by
 * appliance/config.c, which knows none of these). */
#ifndef TESTS_IMAGE_TESTCONFIG_H
#define TESTS_IMAGE_TESTCONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "../../kernel/cmdline.h"

struct test_config {
	int dead_ap;            /* test_dead_ap=N: core N never gets a SIPI, 0 none */
	int late_ap;            /* test_late_ap=N: its SIPI only after its timeout, 0 none */
	const char *panic_test; /* panic_test=ud|pf|...|apsmash (testhooks.c), or NULL */
	uint16_t udp_echo;      /* test_udp_echo=PORT, 0 none */
	bool log_jobs;          /* test_log_jobs=1 */
	uint16_t speed;         /* test_speed=PORT: the plain loop, timed, over UDP; 0 none */
};

/* Fills t from cl; a malformed value is reported and the option ignored.
 * t's strings point into cl, which must outlive it. */
void testconfig_parse(const struct cmdline *cl, struct test_config *t);

#endif
