/* cpu.c - the per-CPU table: one struct cpu per core, the APIC-ID index
 * (the paper's APIC-ID-indexed array), and what every core does for
 * itself on its way up (GS base, GDT and TSS, IDT, CPUID topology). */
#include "cpu.h"

#include <string.h>

#include "console.h"
#include "gdt.h"
#include "paging.h"
#include "panic.h"
#include "trap.h"
#include "x86.h"

extern char boot_stack[];       /* boot.S: the BSP's stack, lowest byte */
extern char boot_stack_guard[]; /* boot.S: the page below it */

struct cpu cpus[MAX_CPUS];
int ncpus;
volatile int cpus_online;
int8_t apic_to_cpu[MAX_APIC_ID];

/* CPUID leaf 0xB: thread, core and package fields of the x2APIC ID. */
static void read_topology(struct cpu *c)
{
	uint32_t a, b, cx, d, max;
	cpuid(0, 0, &max, &b, &cx, &d);
	uint32_t smt_shift = 0, core_shift = 0;
	if (max >= 0xb) {
		for (uint32_t level = 0; level < 8; level++) {
			cpuid(0xb, level, &a, &b, &cx, &d);
			uint32_t type = (cx >> 8) & 0xff;
			if (!type || !b)
				break;
			if (type == 1)
				smt_shift = a & 0x1f;
			else if (type == 2)
				core_shift = a & 0x1f;
		}
	}
	if (core_shift < smt_shift)
		core_shift = smt_shift;
	c->smt_id = c->apic_id & ((1u << smt_shift) - 1);
	c->core_id = (c->apic_id >> smt_shift) & ((1u << (core_shift - smt_shift)) - 1);
	c->pkg_id = core_shift < 32 ? c->apic_id >> core_shift : 0;
}

void cpu_init_this(struct cpu *c)
{
	c->self = c;
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	gdt_init_cpu(c->index, &c->tss, c->ist_stack + sizeof(c->ist_stack));
	trap_init_cpu();
	read_topology(c);
}

void cpu_table_init(const uint32_t *apic_ids, int n, uint32_t bsp_apic_id)
{
	memset(apic_to_cpu, -1, sizeof(apic_to_cpu));
	int k = 1, skipped = 0;
	cpus[0].apic_id = bsp_apic_id;
	for (int i = 0; i < n; i++) {
		if (apic_ids[i] == bsp_apic_id)
			continue;
		if (k == MAX_CPUS || apic_ids[i] >= MAX_APIC_ID) {
			skipped++;
			continue;
		}
		cpus[k++].apic_id = apic_ids[i];
	}
	ncpus = k;
	for (int i = 0; i < ncpus; i++) {
		cpus[i].index = i;
		cpus[i].bsp = i == 0;
		apic_to_cpu[cpus[i].apic_id] = (int8_t)i;
	}
	if (skipped)
		kprintf("cpu: %d cores beyond MAX_CPUS=%d ignored\n", skipped, MAX_CPUS);
	gdt_init(ncpus);
	cpu_init_this(&cpus[0]);
	panic_set_core_index(cpu_index);
	paging_guard(boot_stack_guard);
	cpus[0].stack_guard = (uint64_t *)boot_stack;
	*cpus[0].stack_guard = STACK_CANARY;
	cpus[0].online = true;
	cpus_online = 1;
}
