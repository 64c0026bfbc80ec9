/* gdt.h - segment selectors, the 64-bit TSS and per-core GDT/TSS setup
 * (SDM vol. 3, 3.4.5 and 7.7). */
#ifndef KERNEL_GDT_H
#define KERNEL_GDT_H

#include <stdint.h>

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "TSS is 104 bytes (SDM 7.7)");

/* Once, on the BSP: room for a TSS descriptor per core. */
void gdt_init(int ncores);
/* On the core itself: its TSS descriptor in slot `index` (IST1 =
 * ist_top, the emergency stack for #DF, NMI and #MC), LGDT and LTR. */
void gdt_init_cpu(int index, struct tss *tss, void *ist_top);

#endif
