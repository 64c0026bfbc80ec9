/* main.c - the product's composition root: the appliance as `make run`
 * boots it, the boot order phase by phase (each phase's steps are in
 * boot.c). The BSP arrives in kmain from boot/boot.S in long mode on the
 * boot page tables. It knows no test option: the test image
 * (tests/image/main.c) is another root over the same phases. */
#include <stdint.h>

#include "../kernel/cmdline.h"
#include "../smp/smp.h"
#include "boot.h"
#include "config.h"

void kmain(uint32_t magic, uint32_t info)
{
	static struct cmdline cl;
	static struct boot_config cfg;

	boot_platform(magic, info, &cl, &cfg);  /* console to scheduler, the BSP alone */
	smp_start_aps();                        /* INIT-SIPI-SIPI; "cores online: N" */
	smp_selftest();                         /* every core runs one chunk */
	boot_engine(&cfg);                      /* the job engine, max_job_s= */
	if (boot_net(&cfg))                     /* NIC, lwIP, DHCP or ip= */
		boot_services(&cfg);            /* UDP compute, HTTP control plane */
	boot_serve();                           /* "appliance: ready"; never returns */
}
