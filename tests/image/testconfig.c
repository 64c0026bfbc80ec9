/* testconfig.c - the test image's options into a struct test_config. */
#include "testconfig.h"

#include <string.h>

#include "../../appliance/config.h"
#include "../../kernel/cpu.h"

void testconfig_parse(const struct cmdline *cl, struct test_config *t)
{
	memset(t, 0, sizeof(*t));
	t->dead_ap = (int)config_number(cl, "test_dead_ap", 1, MAX_CPUS - 1);
	t->late_ap = (int)config_number(cl, "test_late_ap", 1, MAX_CPUS - 1);
	t->panic_test = cmdline_get(cl, "panic_test");
	t->udp_echo = (uint16_t)config_number(cl, "test_udp_echo", 1, 65535);
	t->log_jobs = config_number(cl, "test_log_jobs", 0, 1) == 1;
	t->speed = (uint16_t)config_number(cl, "test_speed", 1, 65535);
}
