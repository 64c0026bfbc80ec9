/* vectors.h - the interrupt vector numbers (SDM vol. 3, 6.2): one table,
 * read by the IDT (trap.c), the local APIC (lapic.c) and whoever
 * registers a handler. Constants only. */
#ifndef KERNEL_VECTORS_H
#define KERNEL_VECTORS_H

/* 0..31 are CPU exceptions; the legacy PICs are remapped onto 0x20..0x2f
 * and masked. */
#define VEC_PIC_BASE    0x20
#define VEC_DEVICE_BASE 0x30    /* device interrupts (MSI-X, IOAPIC) from here */
#define VEC_DEVICE_MAX  0x3f
#define VEC_TIMER       0xf0    /* LAPIC one-shot timer */
#define VEC_WAKE        0xf1    /* "there is work" IPI */
#define VEC_SPURIOUS    0xff

#endif
