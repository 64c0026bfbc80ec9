/* cpu.c - the per-CPU table: one struct cpu per core, the APIC-ID index
 * (the paper's APIC-ID-indexed array), and what every core does for
 * itself on its way up (GS base, GDT and TSS, IDT, CPUID topology). */
#include "cpu.h"

#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "kheap.h"
#include "gdt.h"
#include "paging.h"
#include "panic.h"
#include "trap.h"
#include "x86.h"

extern char boot_stack[];       /* boot.S: the BSP's stack, lowest byte */
extern char boot_stack_guard[]; /* boot.S: the page below it */

struct cpu *cpus;
int ncpus;
volatile int cpus_online;
static int16_t *apic_to_cpu;            /* max_apic + 1 entries */
static uint32_t max_apic;

int cpu_by_apic(uint32_t apic_id)
{
	return apic_id <= max_apic ? apic_to_cpu[apic_id] : -1;
}

/* CPUID leaf 0xB on the BSP: the widths of the thread and core fields of
 * an x2APIC ID, the same on every core of the machine. */
static void topology_shifts(uint32_t *smt_shift_out, uint32_t *core_shift_out)
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
	*smt_shift_out = smt_shift;
	*core_shift_out = core_shift;
}

static void set_topology(struct cpu *c, uint32_t smt_shift, uint32_t core_shift)
{
	c->smt_id = c->apic_id & ((1u << smt_shift) - 1);
	c->core_id = (c->apic_id >> smt_shift) & ((1u << (core_shift - smt_shift)) - 1);
	c->pkg_id = core_shift < 32 ? c->apic_id >> core_shift : 0;
}

void cpu_init_this(struct cpu *c)
{
	paging_check_cpu();             /* NX and WP as on the BSP */
	c->self = c;
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	gdt_init_cpu(c->index, &c->tss, c->ist_stack + sizeof(c->ist_stack));
	trap_init_cpu();
}

void cpu_table_init(const uint32_t *apic_ids, int n, uint32_t bsp_apic_id, bool x2apic)
{
	int skipped = 0;
	uint32_t *ids = malloc(((size_t)n + 1) * sizeof(*ids));
	kassert(ids);
	int k = 0;
	ids[k++] = bsp_apic_id;
	max_apic = bsp_apic_id;
	for (int i = 0; i < n; i++) {
		uint32_t id = apic_ids[i];
		if (id == bsp_apic_id)
			continue;
		if (k == MAX_CPUS || id >= MAX_APIC_ID || (!x2apic && id >= XAPIC_BROADCAST)) {
			skipped++;
			continue;
		}
		ids[k++] = id;
		if (id > max_apic)
			max_apic = id;
	}
	ncpus = k;
	cpus = kmalloc_aligned((size_t)ncpus * sizeof(*cpus), 64);
	apic_to_cpu = malloc(((size_t)max_apic + 1) * sizeof(*apic_to_cpu));
	kassert(cpus && apic_to_cpu);
	memset(cpus, 0, (size_t)ncpus * sizeof(*cpus));
	memset(apic_to_cpu, 0xff, ((size_t)max_apic + 1) * sizeof(*apic_to_cpu));
	uint32_t smt_shift, core_shift;
	topology_shifts(&smt_shift, &core_shift);
	for (int i = 0; i < ncpus; i++) {
		cpus[i].index = i;
		cpus[i].apic_id = ids[i];
		cpus[i].bsp = i == 0;
		set_topology(&cpus[i], smt_shift, core_shift);
		apic_to_cpu[ids[i]] = (int16_t)i;
	}
	free(ids);
	if (skipped)
		kprintf("cpu: %d cores skipped (beyond MAX_CPUS=%d, or APIC ID %s)\n", skipped,
			MAX_CPUS, x2apic ? "too large" : "255 in xAPIC mode");
	gdt_init(ncpus);
	cpu_init_this(&cpus[0]);
	panic_set_core_index(cpu_index);
	paging_guard(boot_stack_guard);
	cpus[0].stack_guard = (uint64_t *)boot_stack;
	*cpus[0].stack_guard = STACK_CANARY;
	cpus[0].online = true;
	cpus_online = 1;
}
