/* gdt.c - the 64-bit GDT with one TSS descriptor per core (SDM vol. 3,
 * 3.4.5 and 7.2.3). The TSS gives each core an IST stack so that a double
 * fault or NMI still reaches the panic report after a stack overflow. */
#include <stdint.h>

#include "../smp/cpu.h"
#include "gdt.h"
#include "x86.h"

#define GDT_TSS_FIRST   4       /* null, code64, data, code32, then TSS pairs */
#define TSS_TYPE_AVAIL  0x89    /* present, 64-bit TSS available */

static uint64_t gdt[GDT_TSS_FIRST + 2 * MAX_CPUS] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffff,     /* SEL_KCODE: code, 64-bit */
	0x00cf92000000ffff,     /* SEL_KDATA: data */
	0x00cf9a000000ffff,     /* 32-bit code (AP trampoline) */
};

void gdt_init_cpu(struct cpu *c)
{
	uint64_t base = (uint64_t)&c->tss;
	uint64_t limit = sizeof(c->tss) - 1;
	int slot = GDT_TSS_FIRST + 2 * c->index;

	c->tss.ist[0] = (uint64_t)(c->ist_stack + sizeof(c->ist_stack));
	c->tss.iomap_base = sizeof(c->tss);
	gdt[slot] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		    ((uint64_t)TSS_TYPE_AVAIL << 40) | (((limit >> 16) & 0xf) << 48) |
		    (((base >> 24) & 0xff) << 56);
	gdt[slot + 1] = base >> 32;

	lgdt(gdt, sizeof(gdt));
	ltr((uint16_t)(slot * 8));
}
