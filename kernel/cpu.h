/* cpu.h - per-CPU state: one struct cpu per online core, found by APIC ID
 * through one dense index (the paper's APIC-ID-indexed array), and on the
 * running core through GS (offset 0 holds the struct's own address). */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "gdt.h"
#include "x86.h"

/* A compile-time bound only: the table itself is sized from the MADT at
 * boot (about 4.4 KiB per core, most of it the IST stack). */
#define MAX_CPUS     1024
#define STACK_CANARY 0x5ca1ab1e0ddba11ULL
#define MAX_APIC_ID  (1u << 20)         /* x2APIC IDs beyond this are not taken */
#define XAPIC_BROADCAST 0xff            /* in xAPIC mode never a core */
#define CPU_CHUNK_BUCKETS 24            /* the last: 2^22 us (4 s) and more */

enum cpu_state {
	CPU_IDLE,       /* running, but not a chunk (the BSP serving the network) */
	CPU_BUSY,       /* running a chunk of a job */
	CPU_HALTED,     /* in HLT */
};

struct cpu {
	struct cpu *self;       /* gs:0; set by the BSP before the core starts */
	int index;              /* dense index 0..ncpus-1; set by the BSP before start */
	uint32_t apic_id;       /* from the MADT; set by the BSP before start */
	bool bsp;               /* set once at discovery */
	volatile bool online;   /* set by the core itself when it reached C */
	uint32_t smt_id;        /* topology: thread within core, core within */
	uint32_t core_id;       /*   package, package; from the APIC ID and the */
	uint32_t pkg_id;        /*   BSP's CPUID leaf 0xB, set before start */

	/* Counters: written only by the owning core, read by anyone (relaxed). */
	int state;              /* enum cpu_state */
	uint64_t halts;         /* times it went into HLT */
	uint64_t wakes;         /* times it came out of HLT */
	uint64_t tasks_done;    /* tasks whose last chunk this core ran */
	uint64_t chunks_done;
	uint64_t busy_tsc;      /* TSC cycles spent running chunks */
	/* Chunks by duration: [0] under 1 us, [b] from 2^(b-1) to 2^b us. */
	uint64_t chunk_hist[CPU_CHUNK_BUCKETS];

	uint64_t stack_top;     /* set by the BSP before start */
	uint64_t *stack_guard;  /* lowest word of the stack, holds STACK_CANARY */
	struct tss tss;         /* IST1 = emergency stack for #DF, NMI, #MC */
	uint8_t ist_stack[4096] __attribute__((aligned(16)));
};

extern struct cpu *cpus;                /* ncpus of them, cpus[0] the BSP */
extern int ncpus;                       /* cores discovered */
extern volatile int cpus_online;        /* cores that reached C (atomic) */

/* The paper's APIC-ID-indexed array: APIC ID -> dense index, -1 none. */
int cpu_by_apic(uint32_t apic_id);

static inline struct cpu *this_cpu(void)
{
	return (struct cpu *)gs_self();
}

static inline int cpu_index(void)
{
	return this_cpu()->index;
}

/* Once, on the BSP, after lapic_init: cpus[] from the enabled cores' APIC
 * IDs (the BSP is cpus[0] whatever its place in the list; in xAPIC mode
 * ID 255, the broadcast address, is skipped), the APIC-ID index, the
 * GDT, and the BSP's own struct cpu. Skipped cores are reported. */
void cpu_table_init(const uint32_t *apic_ids, int n, uint32_t bsp_apic_id, bool x2apic);
/* Every core, on its way up: checks NX and WP, GS base, GDT with its
 * TSS, IDT. */
void cpu_init_this(struct cpu *c);

#endif
