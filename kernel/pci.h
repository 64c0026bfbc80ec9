/* pci.h - PCI configuration space through the legacy 0xcf8/0xcfc ports
 * (PCI Local Bus 3.0, 3.2.2.3.2), device lookup, BARs, capabilities and
 * MSI-X. */
#ifndef KERNEL_PCI_H
#define KERNEL_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define   PCI_CMD_IO       0x0001
#define   PCI_CMD_MEM      0x0002
#define   PCI_CMD_MASTER   0x0004
#define   PCI_CMD_INTX_OFF 0x0400
#define PCI_STATUS         0x06
#define   PCI_STATUS_CAPS  0x0010
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SECONDARY_BUS  0x19     /* bridges */
#define PCI_CAP_PTR        0x34
#define PCI_INT_LINE       0x3c
#define PCI_INT_PIN        0x3d

#define PCI_CAP_MSIX       0x11
#define PCI_CAP_VENDOR     0x09

struct pci_dev {
	uint8_t bus, slot, fn;
	uint16_t vendor, device;
	uint8_t irq_line;       /* legacy INTx as the firmware routed it */
};

uint32_t pci_read32(const struct pci_dev *d, uint8_t off);
uint16_t pci_read16(const struct pci_dev *d, uint8_t off);
uint8_t pci_read8(const struct pci_dev *d, uint8_t off);
void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v);
void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v);

/* First device with this vendor and a device ID in [dmin, dmax]. */
bool pci_find(uint16_t vendor, uint16_t dmin, uint16_t dmax, struct pci_dev *out);
/* Physical base of memory BAR i (64-bit BARs joined), 0 for I/O BARs. */
uint64_t pci_bar_mem(const struct pci_dev *d, int i);
void pci_enable(const struct pci_dev *d);
/* Offset of the next capability of type id after `after` (0 = from the
 * start), or 0. */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t after);
/* Points MSI-X table entry `entry` at `vector` on the core with APIC ID
 * `apic`, unmasks it and turns MSI-X on. Returns false without MSI-X. */
bool pci_msix_route(const struct pci_dev *d, int entry, int vector, uint32_t apic);

#endif
