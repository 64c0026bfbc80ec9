/* multiboot.c - reads the boot information: command line, memory map and
 * (multiboot2 only) the ACPI RSDP. The heap gets the largest available
 * range above the kernel image and the boot information itself. */
#include "multiboot.h"

#include <stddef.h>
#include <string.h>

#include "panic.h"

extern char __kernel_end[];

static char cmdline_copy[1024];
static uint8_t rsdp_copy[36];

static void set_cmdline(struct boot_info *bi, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	if (n >= sizeof(cmdline_copy))
		n = sizeof(cmdline_copy) - 1;
	memcpy(cmdline_copy, s, n);
	cmdline_copy[n] = '\0';
	bi->cmdline = cmdline_copy;
}

static void add_ram(struct boot_info *bi, uint64_t base, uint64_t len, uint64_t floor)
{
	bi->ram_total += len;
	uint64_t s = base, end = base + len;
	if (end > (1ULL << 32))
		end = 1ULL << 32;       /* the boot page tables map 4 GiB */
	if (s < floor)
		s = floor;
	if (end > s && end - s > bi->heap_size) {
		bi->heap_base = s;
		bi->heap_size = end - s;
	}
}

static uint64_t page_up(uint64_t x)
{
	return (x + 4095) & ~4095ULL;
}

static void mb1_parse(uint64_t info, struct boot_info *bi)
{
	const struct mb1_info *mi = (const struct mb1_info *)info;
	uint64_t floor = (uint64_t)__kernel_end;
	if (mi->flags & MB1_INFO_CMDLINE) {
		/* The loader puts the kernel's own path first: skip it. */
		const char *s = (const char *)(uint64_t)mi->cmdline;
		while (*s && *s != ' ')
			s++;
		while (*s == ' ')
			s++;
		set_cmdline(bi, s, 4096);
	}
	/* QEMU puts the info, command line and map just above the image. */
	if (info + 4096 > floor)
		floor = info + 4096;
	if (mi->flags & MB1_INFO_CMDLINE && mi->cmdline + 4096 > floor)
		floor = mi->cmdline + 4096;
	if (mi->flags & MB1_INFO_MMAP && mi->mmap_addr + mi->mmap_length > floor)
		floor = mi->mmap_addr + mi->mmap_length;
	floor = page_up(floor);
	if (mi->flags & MB1_INFO_MMAP) {
		uint64_t p = mi->mmap_addr, end = p + mi->mmap_length;
		while (p + sizeof(struct mb1_mmap_entry) <= end) {
			const struct mb1_mmap_entry *e = (const struct mb1_mmap_entry *)p;
			if (e->type == MB2_MEM_AVAILABLE)
				add_ram(bi, e->base, e->length, floor);
			p += e->size + sizeof(e->size);
		}
	}
}

void multiboot_parse(uint32_t magic, uint64_t info, struct boot_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	bi->cmdline = "";
	if (magic == MB1_BOOTLOADER_MAGIC) {
		mb1_parse(info, bi);
		if (!bi->heap_size)
			panic("boot: no usable memory above the kernel");
		return;
	}
	if (magic != MB2_BOOTLOADER_MAGIC)
		panic("boot: not started by a multiboot loader (magic 0x%x)", magic);

	const struct mb2_info *hdr = (const struct mb2_info *)info;
	uint64_t info_end = info + hdr->total_size;
	uint64_t floor = (uint64_t)__kernel_end;
	if (info_end > floor)
		floor = info_end;
	floor = page_up(floor);

	const uint8_t *p = (const uint8_t *)info + sizeof(*hdr);
	while (p + sizeof(struct mb2_tag) <= (const uint8_t *)info_end) {
		const struct mb2_tag *t = (const struct mb2_tag *)p;
		if (t->type == MB2_TAG_END || t->size < sizeof(*t))
			break;
		switch (t->type) {
		case MB2_TAG_CMDLINE:
			set_cmdline(bi, (const char *)(t + 1), t->size - sizeof(*t));
			break;
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
				if (me->type == MB2_MEM_AVAILABLE)
					add_ram(bi, me->base, me->length, floor);
			}
			break;
		}
		}
		p += (t->size + 7) & ~7U;
	}
	if (!bi->heap_size)
		panic("boot: no usable memory above the kernel");
}
