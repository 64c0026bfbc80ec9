/* pci.c - configuration mechanism #1, bus walk (bus 0 and the buses behind
 * bridges), BAR decoding and MSI-X table programming (PCI 3.0, 6.8.2). */
#include "pci.h"

#include "paging.h"
#include "x86.h"

#define PCI_CONFIG_ADDR 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define   CONFIG_ENABLE 0x80000000u

#define MSIX_CTRL          2        /* message control, from the cap */
#define   MSIX_ENABLE      0x8000
#define   MSIX_FUNC_MASK   0x4000
#define   MSIX_SIZE_MASK   0x07ff
#define MSIX_TABLE         4        /* BIR (bits 0..2) and offset */
#define MSIX_ENTRY_SIZE    16
#define   MSIX_ADDR_LO     0
#define   MSIX_ADDR_HI     4
#define   MSIX_DATA        8
#define   MSIX_VCTRL       12
#define     MSIX_VMASKED   1
#define MSI_ADDR_BASE      0xfee00000u

static uint32_t addr(const struct pci_dev *d, uint8_t off)
{
	return CONFIG_ENABLE | (uint32_t)d->bus << 16 | (uint32_t)d->slot << 11 |
	       (uint32_t)d->fn << 8 | (off & 0xfc);
}

uint32_t pci_read32(const struct pci_dev *d, uint8_t off)
{
	outl(PCI_CONFIG_ADDR, addr(d, off));
	return inl(PCI_CONFIG_DATA);
}

uint16_t pci_read16(const struct pci_dev *d, uint8_t off)
{
	return (uint16_t)(pci_read32(d, off) >> ((off & 2) * 8));
}

uint8_t pci_read8(const struct pci_dev *d, uint8_t off)
{
	return (uint8_t)(pci_read32(d, off) >> ((off & 3) * 8));
}

void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v)
{
	outl(PCI_CONFIG_ADDR, addr(d, off));
	outl(PCI_CONFIG_DATA, v);
}

void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v)
{
	outl(PCI_CONFIG_ADDR, addr(d, off));
	outw(PCI_CONFIG_DATA + (off & 2), v);
}

static bool scan_bus(uint8_t bus, uint16_t vendor, uint16_t dmin, uint16_t dmax,
		     struct pci_dev *out, int depth)
{
	for (uint8_t slot = 0; slot < 32; slot++) {
		for (uint8_t fn = 0; fn < 8; fn++) {
			struct pci_dev d = { .bus = bus, .slot = slot, .fn = fn };
			uint32_t id = pci_read32(&d, PCI_VENDOR_ID);
			if ((id & 0xffff) == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			d.vendor = (uint16_t)id;
			d.device = (uint16_t)(id >> 16);
			uint8_t ht = pci_read8(&d, PCI_HEADER_TYPE);
			if (d.vendor == vendor && d.device >= dmin && d.device <= dmax) {
				d.irq_line = pci_read8(&d, PCI_INT_LINE);
				*out = d;
				return true;
			}
			if ((ht & 0x7f) == 1 && depth < 4) {
				uint8_t sec = pci_read8(&d, PCI_SECONDARY_BUS);
				if (sec > bus && scan_bus(sec, vendor, dmin, dmax, out, depth + 1))
					return true;
			}
			if (fn == 0 && !(ht & 0x80))
				break;          /* single-function device */
		}
	}
	return false;
}

bool pci_find(uint16_t vendor, uint16_t dmin, uint16_t dmax, struct pci_dev *out)
{
	return scan_bus(0, vendor, dmin, dmax, out, 0);
}

uint64_t pci_bar_mem(const struct pci_dev *d, int i)
{
	uint32_t lo = pci_read32(d, (uint8_t)(PCI_BAR0 + 4 * i));
	if (lo & 1)
		return 0;       /* I/O space */
	uint64_t base = lo & ~0xfULL;
	if (((lo >> 1) & 3) == 2 && i < 5)
		base |= (uint64_t)pci_read32(d, (uint8_t)(PCI_BAR0 + 4 * (i + 1))) << 32;
	return base;
}

void pci_enable(const struct pci_dev *d)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	pci_write16(d, PCI_COMMAND, cmd | PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER);
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t after)
{
	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAPS))
		return 0;
	uint8_t p = after ? pci_read8(d, (uint8_t)(after + 1)) : pci_read8(d, PCI_CAP_PTR);
	for (int guard = 0; p && guard < 48; guard++) {
		p &= 0xfc;
		if (pci_read8(d, p) == id)
			return p;
		p = pci_read8(d, (uint8_t)(p + 1));
	}
	return 0;
}

bool pci_msix_route(const struct pci_dev *d, int entry, int vector, uint32_t apic)
{
	uint8_t cap = pci_find_cap(d, PCI_CAP_MSIX, 0);
	if (!cap)
		return false;
	uint16_t ctrl = pci_read16(d, (uint8_t)(cap + MSIX_CTRL));
	if (entry > (ctrl & MSIX_SIZE_MASK))
		return false;
	uint32_t tbl = pci_read32(d, (uint8_t)(cap + MSIX_TABLE));
	uint64_t base = pci_bar_mem(d, tbl & 7);
	if (!base)
		return false;
	volatile uint8_t *t = paging_map_mmio(base + (tbl & ~7u), (uint64_t)(entry + 1) * MSIX_ENTRY_SIZE);
	volatile uint32_t *e = (volatile uint32_t *)(t + entry * MSIX_ENTRY_SIZE);
	/* Function-mask while the entry changes, then enable (6.8.2.3). */
	pci_write16(d, (uint8_t)(cap + MSIX_CTRL), ctrl | MSIX_ENABLE | MSIX_FUNC_MASK);
	e[MSIX_ADDR_LO / 4] = MSI_ADDR_BASE | (apic << 12);
	e[MSIX_ADDR_HI / 4] = 0;
	e[MSIX_DATA / 4] = (uint32_t)vector;            /* fixed, edge */
	e[MSIX_VCTRL / 4] = 0;
	pci_write16(d, (uint8_t)(cap + MSIX_CTRL), (ctrl | MSIX_ENABLE) & ~MSIX_FUNC_MASK);
	return true;
}
