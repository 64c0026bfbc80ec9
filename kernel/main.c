/* main.c - the boot order, one step per line. The BSP arrives here from
 * boot/boot.S in long mode on the boot page tables. */
#include <stdint.h>
#include <string.h>

#include "../smp/acpi.h"
#include "../smp/cpu.h"
#include "../smp/lapic.h"
#include "../smp/sched.h"
#include "../smp/smp.h"
#include "app.h"
#include "cmdline.h"
#include "console.h"
#include "kheap.h"
#include "multiboot.h"
#include "panic.h"
#include "time.h"
#include "trap.h"
#include "x86.h"

extern char __bss_start[], __bss_end[], __kernel_start[], __kernel_end[];

/* Test hook (API.md section 4 lists the user options; this one is for the
 * test suite): panic_test=ud|pf|div|panic raises that fault after boot. */
static void maybe_fault(void)
{
	const char *what = cmdline_get(&boot_cmdline, "panic_test");
	if (!what)
		return;
	kprintf("boot: panic_test=%s requested\n", what);
	if (!strcmp(what, "ud"))
		__asm__ volatile("ud2");
	if (!strcmp(what, "pf"))
		*(volatile uint64_t *)0x7ffffffff000ULL = 1;
	if (!strcmp(what, "div")) {
		volatile uint64_t one = 1, zero = 0;   /* both volatile: 1/x folds to x==1 */
		kprintf("%lu\n", (unsigned long)(one / zero));
	}
	panic("panic_test=%s", what);
}

void kmain(uint32_t magic, uint32_t info)
{
	struct boot_info bi;

	console_init();                         /* COM1, so everything after can report */
	kprintf("\nappliance: booting\n");
	multiboot_parse(magic, info, &bi);      /* command line, RAM, RSDP */
	cmdline_parse(&boot_cmdline, bi.cmdline);
	kheap_init((void *)bi.heap_base, bi.heap_size);  /* malloc from here on */
	trap_init();                            /* IDT: exceptions report and halt */
	time_init();                            /* PIT off, PICs masked, TSC calibrated */
	acpi_init(bi.rsdp);                     /* cores and IOAPIC from the MADT */
	lapic_init();                           /* x2APIC or xAPIC */
	smp_init();                             /* cpus[], APIC-ID index, BSP GDT/TSS/IDT */
	lapic_init_cpu();                       /* BSP's local APIC */
	lapic_timer_init();                     /* one-shot timer, never periodic */
	sched_init();                           /* task queue and wake-up IPI */
	kprintf("boot: cmdline \"%s\", %lu KiB RAM, heap %lu KiB, image %lu KiB, timer %s\n",
		bi.cmdline, (unsigned long)(bi.ram_total >> 10), (unsigned long)(bi.heap_size >> 10),
		(unsigned long)((__kernel_end - __kernel_start) >> 10), lapic_timer_mode());
	sti();
	smp_start_aps();                        /* INIT-SIPI-SIPI; "cores online: N" */
	const char *pl = cmdline_get(&boot_cmdline, "placement");
	sched_set_placement(pl && !strcmp(pl, "pack") ? PLACE_PACK : PLACE_SPREAD);
	smp_selftest();                         /* every core runs one task */
	maybe_fault();                          /* test-only: panic_test= */
	app_main();                             /* the appliance; never returns */
}
