/* acpi.c - RSDP -> RSDT/XSDT -> MADT. Reads the enabled local APICs (and
 * x2APICs), the first IOAPIC and the ISA interrupt overrides. */
#include "acpi.h"

#include <stddef.h>
#include <string.h>

#include "console.h"

struct acpi_rsdp {
	char signature[8];      /* "RSD PTR " */
	uint8_t checksum;       /* first 20 bytes sum to 0 */
	char oem[6];
	uint8_t revision;       /* 0: ACPI 1.0, RSDT only; 2+: XSDT */
	uint32_t rsdt;
	uint32_t length;        /* revision >= 2 from here */
	uint64_t xsdt;
	uint8_t xchecksum;
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "ACPI 5.2.5.3");

struct acpi_sdt {
	char signature[4];
	uint32_t length;        /* whole table, header included */
	uint8_t revision;
	uint8_t checksum;
	char oem[6];
	char oem_table[8];
	uint32_t oem_revision;
	uint32_t creator;
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_sdt) == 36, "ACPI 5.2.6");

struct acpi_madt {
	struct acpi_sdt hdr;
	uint32_t lapic_addr;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "ACPI 5.2.12");

#define MADT_LAPIC      0
#define MADT_IOAPIC     1
#define MADT_OVERRIDE   2
#define MADT_X2APIC     9
#define MADT_ENABLED    1       /* flags bit 0 */

struct madt_entry {
	uint8_t type;
	uint8_t length;
} __attribute__((packed));

struct madt_lapic {
	struct madt_entry e;
	uint8_t acpi_id;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic) == 8, "ACPI 5.2.12.2");

struct madt_ioapic {
	struct madt_entry e;
	uint8_t id;
	uint8_t reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_ioapic) == 12, "ACPI 5.2.12.3");

struct madt_override {
	struct madt_entry e;
	uint8_t bus;            /* 0 = ISA */
	uint8_t source;         /* ISA IRQ */
	uint32_t gsi;
	uint16_t flags;         /* polarity and trigger mode */
} __attribute__((packed));
_Static_assert(sizeof(struct madt_override) == 10, "ACPI 5.2.12.5");

struct madt_x2apic {
	struct madt_entry e;
	uint16_t reserved;
	uint32_t apic_id;
	uint32_t flags;
	uint32_t acpi_uid;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_x2apic) == 16, "ACPI 5.2.12.12");

struct acpi_info acpi;

static int sum_ok(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s == 0;
}

static const struct acpi_rsdp *scan(uint64_t start, uint64_t len)
{
	for (uint64_t a = start; a + sizeof(struct acpi_rsdp) <= start + len; a += 16) {
		const struct acpi_rsdp *r = (const struct acpi_rsdp *)a;
		if (!memcmp(r->signature, "RSD PTR ", 8) && sum_ok(r, 20))
			return r;
	}
	return NULL;
}

static void add_cpu(uint32_t apic_id)
{
	for (int i = 0; i < acpi.ncpus; i++)
		if (acpi.apic_ids[i] == apic_id)
			return;
	if (acpi.ncpus == MAX_CPUS) {
		acpi.skipped++;
		return;
	}
	acpi.apic_ids[acpi.ncpus++] = apic_id;
}

static void parse_madt(const struct acpi_madt *m)
{
	const uint8_t *p = (const uint8_t *)(m + 1);
	const uint8_t *end = (const uint8_t *)m + m->hdr.length;
	while (p + sizeof(struct madt_entry) <= end) {
		const struct madt_entry *e = (const struct madt_entry *)p;
		if (e->length < 2 || p + e->length > end)
			break;
		switch (e->type) {
		case MADT_LAPIC: {
			const struct madt_lapic *l = (const void *)e;
			if (l->flags & MADT_ENABLED)
				add_cpu(l->apic_id);
			break;
		}
		case MADT_X2APIC: {
			const struct madt_x2apic *x = (const void *)e;
			if (x->flags & MADT_ENABLED)
				add_cpu(x->apic_id);
			break;
		}
		case MADT_IOAPIC: {
			const struct madt_ioapic *io = (const void *)e;
			if (!acpi.ioapic_addr) {
				acpi.ioapic_addr = io->addr;
				acpi.ioapic_gsi_base = io->gsi_base;
			}
			break;
		}
		case MADT_OVERRIDE: {
			const struct madt_override *o = (const void *)e;
			if (o->bus == 0 && o->source < 16) {
				acpi.isa_gsi[o->source] = o->gsi;
				acpi.isa_flags[o->source] = o->flags;
			}
			break;
		}
		}
		p += e->length;
	}
}

int acpi_init(const void *rsdp_copy)
{
	for (int i = 0; i < 16; i++)
		acpi.isa_gsi[i] = (uint32_t)i;
	const struct acpi_rsdp *r = rsdp_copy;
	if (!r) {
		uint16_t seg;
		memcpy(&seg, (const void *)(uintptr_t)0x40e, 2);  /* BDA: EBDA segment */
		uint64_t ebda = (uint64_t)seg << 4;
		r = scan(ebda, 1024);
		if (!r)
			r = scan(0xe0000, 0x20000);
	}
	if (!r) {
		kprintf("acpi: no RSDP, assuming one core\n");
		return -1;
	}
	const struct acpi_sdt *root;
	int wide = r->revision >= 2 && r->xsdt;
	root = wide ? (const struct acpi_sdt *)r->xsdt : (const struct acpi_sdt *)(uint64_t)r->rsdt;
	int n = (int)((root->length - sizeof(*root)) / (wide ? 8 : 4));
	const uint8_t *ents = (const uint8_t *)(root + 1);
	for (int i = 0; i < n; i++) {
		uint64_t a;
		if (wide)
			memcpy(&a, ents + 8 * i, 8);
		else {
			uint32_t a32;
			memcpy(&a32, ents + 4 * i, 4);
			a = a32;
		}
		const struct acpi_sdt *t = (const struct acpi_sdt *)a;
		if (!memcmp(t->signature, "APIC", 4) && sum_ok(t, t->length)) {
			parse_madt((const struct acpi_madt *)t);
			if (acpi.skipped)
				kprintf("acpi: %d cores beyond MAX_CPUS=%d ignored\n", acpi.skipped,
					MAX_CPUS);
			return 0;
		}
	}
	kprintf("acpi: no MADT, assuming one core\n");
	return -1;
}
