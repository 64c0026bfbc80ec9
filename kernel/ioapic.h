/* ioapic.h - routing a legacy interrupt line through the IOAPIC, for
 * devices without MSI-X. */
#ifndef KERNEL_IOAPIC_H
#define KERNEL_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

/* Routes ISA/PCI line `irq` (ACPI overrides applied) to `vector` on the
 * core with APIC ID `apic`. PCI lines are level-triggered. */
bool ioapic_route(uint8_t irq, int vector, uint32_t apic, bool level);

#endif
