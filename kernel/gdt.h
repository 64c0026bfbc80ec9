/* gdt.h - segment selectors and per-core GDT/TSS setup. */
#ifndef KERNEL_GDT_H
#define KERNEL_GDT_H

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10

struct cpu;
void gdt_init_cpu(struct cpu *c);

#endif
