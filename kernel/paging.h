/* paging.h - the identity map. boot.S maps the first 4 GiB; MMIO above
 * that (64-bit PCI BARs) is added here on demand. */
#ifndef KERNEL_PAGING_H
#define KERNEL_PAGING_H

#include <stdint.h>

/* Makes [phys, phys+len) reachable, uncached, at the same virtual address
 * and returns it. Panics when no page table can be allocated. */
void *paging_map_mmio(uint64_t phys, uint64_t len);

#endif
