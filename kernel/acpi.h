/* acpi.h - what the kernel takes from ACPI: the cores and the IOAPIC
 * (ACPI 6.x, 5.2.5 RSDP, 5.2.7 RSDT, 5.2.8 XSDT, 5.2.12 MADT). */
#ifndef KERNEL_ACPI_H
#define KERNEL_ACPI_H

#include <stdint.h>

#include "cpu.h"

struct acpi_info {
	int ncpus;
	uint32_t apic_ids[MAX_CPUS];    /* enabled cores, MADT order */
	int skipped;                    /* enabled cores beyond MAX_CPUS */
	uint64_t ioapic_addr;           /* first IOAPIC, 0 if none */
	uint32_t ioapic_gsi_base;
	/* Interrupt source overrides for ISA IRQs 0..15. */
	uint32_t isa_gsi[16];
	uint16_t isa_flags[16];
};

extern struct acpi_info acpi;

/* rsdp: the copy the boot loader gave, or NULL to scan the BIOS areas.
 * Returns 0, or -1 when no MADT was found (then one core is assumed). */
int acpi_init(const void *rsdp);

#endif
