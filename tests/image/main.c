/* main.c - the test image's composition root (build/test-appliance.elf,
 * built by make test): the product's boot phases (appliance/boot.h) in
 * the product's order, with the test options' hooks (testhooks.h) between
 * them, as Solo5 builds each test as its own unikernel. Without a test
 * option it behaves as the product. */
#include <stdint.h>

#include "../../appliance/boot.h"
#include "../../appliance/config.h"
#include "../../kernel/cmdline.h"
#include "../../kernel/console.h"
#include "../../smp/smp.h"
#include "testconfig.h"
#include "testhooks.h"

void kmain(uint32_t magic, uint32_t info)
{
	static struct cmdline cl;
	static struct boot_config cfg;
	static struct test_config t;

	boot_platform(magic, info, &cl, &cfg);  /* console to scheduler, the BSP alone */
	kprintf("test: the test image, hooks linked\n");
	testconfig_parse(&cl, &t);              /* test_*=, panic_test= */
	testhooks_start_aps(&t);                /* the smp steps; test_dead_ap=, test_late_ap= */
	smp_selftest();                         /* every core runs one chunk */
	testhooks_fault(&t);                    /* panic_test=: never returns when set */
	boot_engine(&cfg);                      /* the job engine, max_job_s= */
	testhooks_job_logger(&t);               /* test_log_jobs=1: an observer */
	if (boot_net(&cfg)) {                   /* NIC, lwIP, DHCP or ip= */
		testhooks_udp_echo(&t);         /* test_udp_echo=PORT */
		testhooks_speed(&t);            /* test_speed=PORT: the plain loop, timed */
		boot_services(&cfg);            /* UDP compute, HTTP control plane */
	}
	boot_serve();                           /* "appliance: ready"; never returns */
}
