/* main.c - the benchmark floor's composition root (build/bench-floor.elf,
 * built by make bench): the product's platform phase and its cores, then
 * nothing more; every core halts for good, so what QEMU burns is its own
 * idle cost (bench/run.py, "QEMU floor"). bench_floor=2 also drives the
 * NIC, its RX ring filled, with no network stack behind it. */
#include <stdint.h>

#include "../../appliance/boot.h"
#include "../../appliance/config.h"
#include "../../drivers/virtio_net/virtio_net.h"
#include "../../kernel/cmdline.h"
#include "../../kernel/console.h"
#include "../../kernel/lapic.h"
#include "../../smp/sched.h"
#include "../../smp/smp.h"

static void nothing(void)
{
}

static uint64_t no_deadline(void)
{
	return SCHED_NO_DEADLINE;
}

/* The BSP loop with nothing to serve and nothing due: it halts. */
static const struct bsp_ops halt_for_good = { nothing, nothing, no_deadline };

void kmain(uint32_t magic, uint32_t info)
{
	static struct cmdline cl;
	static struct boot_config cfg;

	boot_platform(magic, info, &cl, &cfg);  /* console to scheduler, the BSP alone */
	int floor = (int)config_number(&cl, "bench_floor", 1, 2);      /* absent: 1 */
	smp_start_aps();                        /* INIT-SIPI-SIPI; "cores online: N" */
	smp_selftest();                         /* every core runs one chunk */
	if (floor == 2)
		vnet_init(lapic_id());          /* NIC up, RX ring filled, interrupts on */
	kprintf("appliance: bench_floor=%d, halting\n", floor ? floor : 1);
	sched_bsp_loop(&halt_for_good);         /* never returns */
}
