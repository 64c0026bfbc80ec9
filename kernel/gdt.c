/* gdt.c - the 64-bit GDT with one TSS descriptor per core (SDM vol. 3,
 * 3.4.5 and 7.2.3). The TSS gives each core an IST stack so that a double
 * fault or NMI still reaches the panic report after a stack overflow. */
#include "gdt.h"

#include <string.h>

#include "kheap.h"
#include "panic.h"
#include "x86.h"

#define GDT_TSS_FIRST   4       /* null, code64, data, code32, then TSS pairs */
#define TSS_TYPE_AVAIL  0x89    /* present, 64-bit TSS available */

static const uint64_t gdt_fixed[GDT_TSS_FIRST] = {
	0,
	0x00af9a000000ffff,     /* SEL_KCODE: code, 64-bit */
	0x00cf92000000ffff,     /* SEL_KDATA: data */
	0x00cf9a000000ffff,     /* 32-bit code (AP trampoline) */
};
static uint64_t *gdt;
static size_t gdt_bytes;

void gdt_init(int ncores)
{
	gdt_bytes = (GDT_TSS_FIRST + 2 * (size_t)ncores) * sizeof(uint64_t);
	gdt = kmalloc_aligned(gdt_bytes, 16);
	kassert(gdt);
	memset(gdt, 0, gdt_bytes);
	memcpy(gdt, gdt_fixed, sizeof(gdt_fixed));
}

void gdt_init_cpu(int index, struct tss *tss, void *ist_top)
{
	uint64_t base = (uint64_t)tss;
	uint64_t limit = sizeof(*tss) - 1;
	int slot = GDT_TSS_FIRST + 2 * index;

	tss->ist[0] = (uint64_t)ist_top;
	tss->iomap_base = sizeof(*tss);
	gdt[slot] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		    ((uint64_t)TSS_TYPE_AVAIL << 40) | (((limit >> 16) & 0xf) << 48) |
		    (((base >> 24) & 0xff) << 56);
	gdt[slot + 1] = base >> 32;

	lgdt(gdt, (uint16_t)gdt_bytes);
	ltr((uint16_t)(slot * 8));
}
