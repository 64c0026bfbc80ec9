/* ioapic.c - the I/O APIC (82093AA datasheet, 3.2): one redirection
 * entry per global system interrupt, reached through IOREGSEL/IOWIN. */
#include "ioapic.h"

#include "console.h"
#include "acpi.h"

#define IOREGSEL        0x00
#define IOWIN           0x10
#define IOAPIC_VER      0x01
#define IOAPIC_REDTBL   0x10    /* + 2 * pin: low, high */
#define   RED_LEVEL     (1u << 15)
#define   RED_ACTIVE_LOW (1u << 13)
#define   RED_MASKED    (1u << 16)

#define MPS_POLARITY_MASK 0x3
#define   MPS_ACTIVE_LOW  0x3
#define MPS_TRIGGER_MASK  0xc
#define   MPS_LEVEL       0xc
#define   MPS_EDGE        0x4

static void write_reg(volatile uint32_t *io, uint32_t reg, uint32_t v)
{
	io[IOREGSEL / 4] = reg;
	io[IOWIN / 4] = v;
}

static uint32_t read_reg(volatile uint32_t *io, uint32_t reg)
{
	io[IOREGSEL / 4] = reg;
	return io[IOWIN / 4];
}

bool ioapic_route(uint8_t irq, int vector, uint32_t apic, bool level)
{
	if (!acpi.ioapic_addr || apic > 0xff)
		return false;   /* the redirection entry holds an 8-bit destination */
	volatile uint32_t *io = (volatile uint32_t *)acpi.ioapic_addr;
	/* ISA lines 0..15 through the MADT's overrides; a PCI line of 16 and
	 * up (q35 routes INTx to GSIs 16..23) is that GSI, level, active low. */
	uint32_t gsi = irq < 16 ? acpi.isa_gsi[irq] : irq;
	uint16_t fl = irq < 16 ? acpi.isa_flags[irq] : (MPS_LEVEL | MPS_ACTIVE_LOW);
	bool low = (fl & MPS_POLARITY_MASK) == MPS_ACTIVE_LOW;
	if ((fl & MPS_TRIGGER_MASK) == MPS_LEVEL)
		level = true;
	else if ((fl & MPS_TRIGGER_MASK) == MPS_EDGE)
		level = false;
	uint32_t pin = gsi - acpi.ioapic_gsi_base;
	uint32_t npins = ((read_reg(io, IOAPIC_VER) >> 16) & 0xff) + 1;
	if (pin >= npins)
		return false;
	uint32_t lo = (uint32_t)vector | (level ? RED_LEVEL : 0) | (low ? RED_ACTIVE_LOW : 0);
	write_reg(io, IOAPIC_REDTBL + 2 * pin + 1, apic << 24);
	write_reg(io, IOAPIC_REDTBL + 2 * pin, lo);
	kprintf("ioapic: irq %u -> gsi %u pin %u vector 0x%x (%s)\n", irq, gsi, pin, vector,
		level ? "level" : "edge");
	return true;
}
