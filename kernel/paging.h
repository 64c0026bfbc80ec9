/* paging.h - the identity map. boot.S maps the first 4 GiB; MMIO above
 * that (64-bit PCI BARs) is added here on demand. */
#ifndef KERNEL_PAGING_H
#define KERNEL_PAGING_H

#include <stdbool.h>
#include <stdint.h>

/* Makes [phys, phys+len) reachable, uncached, at the same virtual address
 * and returns it. Panics when no page table can be allocated. */
void *paging_map_mmio(uint64_t phys, uint64_t len);
/* Unmaps the 4 KiB page below a stack, so that an overflow faults at
 * once (the fault report then names it); below 4 GiB, page aligned. */
void paging_guard(void *page);
/* a lies in a page paging_guard unmapped. */
bool paging_is_guard(uint64_t a);

#endif
