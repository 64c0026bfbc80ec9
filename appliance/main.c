/* main.c - the appliance: what the kernel runs on the BSP once every core
 * is up. */
#include "../kernel/app.h"
#include "../kernel/console.h"
#include "../smp/sched.h"

static const struct bsp_ops bsp_ops = {
	.poll = 0,
	.next_deadline_ns = 0,
};

void app_main(void)
{
	kprintf("appliance: ready\n");
	sched_bsp_loop(&bsp_ops);
}
