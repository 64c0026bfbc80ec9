/* paging.h - the identity map and its access rights (W^X). boot.S maps
 * the first 4 GiB to reach C; paging_init puts the final tables in place
 * (text r-x, rodata r--, everything else rw- no-exec, page 0 unmapped);
 * MMIO above 4 GiB is added on demand. */
#ifndef KERNEL_PAGING_H
#define KERNEL_PAGING_H

#include <stdbool.h>
#include <stdint.h>

enum paging_rights {
	PAGING_RX,      /* read-only, executable */
	PAGING_RO,      /* read-only, no-execute */
	PAGING_RW,      /* read-write, no-execute */
};

/* Once, on the BSP, before the APs start and after the last read of
 * page 0 (acpi_init's look at the BIOS data area): EFER.NXE where CPUID
 * offers NX, CR0.WP, the final tables in CR3; prints the "mmu:" line. */
void paging_init(void);
/* Every core, on its way up: panics unless NXE (where the BSP turned it
 * on) and WP are set on this core too. */
void paging_check_cpu(void);
/* The EFER bits an AP sets before it turns paging on (trampoline.S):
 * long mode, and NXE where the tables use the NX bit. */
uint32_t paging_efer_bits(void);
/* Makes [phys, phys+len) reachable, uncached, no-execute, at the same
 * virtual address and returns it. Panics when no page table can be
 * allocated. */
void *paging_map_mmio(uint64_t phys, uint64_t len);
/* Gives the 4 KiB pages of [start, start+len) these rights (below 4 GiB,
 * page aligned, never page 0). On the BSP before the APs start. */
void paging_protect(uint64_t start, uint64_t len, enum paging_rights r);
/* Unmaps the 4 KiB page below a stack, so that an overflow faults at
 * once (the fault report then names it); below 4 GiB, page aligned. */
void paging_guard(void *page);
/* a lies in a page paging_guard unmapped. */
bool paging_is_guard(uint64_t a);
/* Below this nothing is ever mapped: a NULL dereference faults. */
#define PAGING_NULL_GUARD_END 4096u

#endif
