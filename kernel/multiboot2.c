/* multiboot2.c - walks the multiboot2 tags: command line, memory map,
 * ACPI RSDP. The heap gets the largest available range above the kernel
 * image and the boot information itself. */
#include "multiboot2.h"

#include <stddef.h>
#include <string.h>

#include "panic.h"

extern char __kernel_end[];

static char cmdline_copy[1024];
static uint8_t rsdp_copy[36];

void mb2_parse(uint32_t magic, uint64_t info, struct boot_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	bi->cmdline = "";
	if (magic != MB2_BOOTLOADER_MAGIC)
		panic("boot: not started by a multiboot2 loader (magic 0x%x)", magic);

	const struct mb2_info *hdr = (const struct mb2_info *)info;
	uint64_t info_end = info + hdr->total_size;
	uint64_t floor = (uint64_t)__kernel_end;
	if (info_end > floor)
		floor = info_end;
	floor = (floor + 4095) & ~4095ULL;

	const uint8_t *p = (const uint8_t *)info + sizeof(*hdr);
	while (p + sizeof(struct mb2_tag) <= (const uint8_t *)info_end) {
		const struct mb2_tag *t = (const struct mb2_tag *)p;
		if (t->type == MB2_TAG_END || t->size < sizeof(*t))
			break;
		switch (t->type) {
		case MB2_TAG_CMDLINE: {
			size_t n = strnlen((const char *)(t + 1), t->size - sizeof(*t));
			if (n >= sizeof(cmdline_copy))
				n = sizeof(cmdline_copy) - 1;
			memcpy(cmdline_copy, t + 1, n);
			cmdline_copy[n] = '\0';
			bi->cmdline = cmdline_copy;
			break;
		}
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW: {
			size_t n = t->size - sizeof(*t);
			if (n > sizeof(rsdp_copy))
				n = sizeof(rsdp_copy);
			if (!bi->rsdp || t->type == MB2_TAG_ACPI_NEW) {
				memcpy(rsdp_copy, t + 1, n);
				bi->rsdp = rsdp_copy;
			}
			break;
		}
		case MB2_TAG_MMAP: {
			const struct mb2_tag_mmap *m = (const struct mb2_tag_mmap *)t;
			if (m->entry_size < sizeof(struct mb2_mmap_entry))
				break;
			for (const uint8_t *e = p + sizeof(*m); e + m->entry_size <= p + t->size;
			     e += m->entry_size) {
				const struct mb2_mmap_entry *me = (const struct mb2_mmap_entry *)e;
				if (me->type != MB2_MEM_AVAILABLE)
					continue;
				bi->ram_total += me->length;
				uint64_t s = me->base, end = me->base + me->length;
				if (end > (1ULL << 32))
					end = 1ULL << 32;       /* identity map covers 4 GiB */
				if (s < floor)
					s = floor;
				if (end > s && end - s > bi->heap_size) {
					bi->heap_base = s;
					bi->heap_size = end - s;
				}
			}
			break;
		}
		}
		p += (t->size + 7) & ~7U;
	}
	if (!bi->heap_size)
		panic("boot: no usable memory above the kernel");
}
