/* multiboot.h - the boot information a loader hands over: Multiboot2
 * (GRUB; spec 3.6, tags) or Multiboot 1 (QEMU's -kernel; spec 3.3, the
 * info structure). Only what the kernel reads is described. */
#ifndef KERNEL_MULTIBOOT_H
#define KERNEL_MULTIBOOT_H

#include <stdint.h>

#define MB2_BOOTLOADER_MAGIC 0x36d76289
#define MB1_BOOTLOADER_MAGIC 0x2badb002

#define MB1_INFO_CMDLINE  (1u << 2)
#define MB1_INFO_MMAP     (1u << 6)

struct mb1_info {
	uint32_t flags;         /* which fields below are valid */
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;       /* MB1_INFO_CMDLINE: physical address */
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;   /* MB1_INFO_MMAP: bytes of entries */
	uint32_t mmap_addr;
} __attribute__((packed));
_Static_assert(sizeof(struct mb1_info) == 52, "multiboot 1 spec 3.3");

struct mb1_mmap_entry {
	uint32_t size;          /* of the rest of this entry */
	uint64_t base;
	uint64_t length;
	uint32_t type;          /* 1 = available */
} __attribute__((packed));
_Static_assert(sizeof(struct mb1_mmap_entry) == 24, "multiboot 1 spec 3.3");

#define MB2_TAG_END       0
#define MB2_TAG_CMDLINE   1
#define MB2_TAG_MMAP      6
#define MB2_TAG_ACPI_OLD  14
#define MB2_TAG_ACPI_NEW  15

#define MB2_MEM_AVAILABLE 1

struct mb2_info {
	uint32_t total_size;    /* whole structure, this header included */
	uint32_t reserved;
};
_Static_assert(sizeof(struct mb2_info) == 8, "spec 3.6.1");

struct mb2_tag {
	uint32_t type;          /* MB2_TAG_* */
	uint32_t size;          /* tag size without padding to 8 */
};
_Static_assert(sizeof(struct mb2_tag) == 8, "spec 3.6.1");

struct mb2_mmap_entry {
	uint64_t base;          /* physical start */
	uint64_t length;        /* bytes */
	uint32_t type;          /* MB2_MEM_AVAILABLE, ... */
	uint32_t reserved;
};
_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "spec 3.6.8");

struct mb2_tag_mmap {
	struct mb2_tag tag;
	uint32_t entry_size;    /* stride of the entries that follow */
	uint32_t entry_version;
};
_Static_assert(sizeof(struct mb2_tag_mmap) == 16, "spec 3.6.8");

/* What kmain takes out of the boot information before it may be
 * overwritten. */
struct boot_info {
	const char *cmdline;    /* "" when absent */
	const void *rsdp;       /* copy of the ACPI RSDP, or NULL */
	uint64_t heap_base;     /* largest free RAM range above the kernel */
	uint64_t heap_size;
	uint64_t ram_total;     /* sum of available ranges */
};

/* Either kind, told apart by the magic in EAX; panics on neither. */
void multiboot_parse(uint32_t magic, uint64_t info, struct boot_info *bi);

#endif
