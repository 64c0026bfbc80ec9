/* paging.c - extends the boot identity map with 2 MiB pages for device
 * memory above 4 GiB, and unmaps stack guard pages (SDM vol. 3, 4.5:
 * 4-level paging). Called on the BSP during set-up, before the APs could
 * use those addresses. */
#include "paging.h"

#include <string.h>

#include "kheap.h"
#include "panic.h"
#include "x86.h"

#define PTE_P     0x001
#define PTE_W     0x002
#define PTE_PWT   0x008
#define PTE_PCD   0x010
#define PTE_PS    0x080
#define PTE_GUARD 0x200         /* available to software: a guard page */
#define PTE_ADDR  0x000ffffffffff000ULL
#define PAGE_2M   (2ULL << 20)

extern uint64_t boot_pml4[512];

static uint64_t *next_level(uint64_t *table, int idx)
{
	if (!(table[idx] & PTE_P)) {
		uint64_t *t = kmalloc_aligned(4096, 4096);
		if (!t)
			panic("paging: out of memory for page tables");
		memset(t, 0, 4096);
		table[idx] = (uint64_t)t | PTE_P | PTE_W;
	}
	return (uint64_t *)(table[idx] & PTE_ADDR);
}

void *paging_map_mmio(uint64_t phys, uint64_t len)
{
	if (phys + len <= (4ULL << 30))
		return (void *)phys;    /* boot.S mapped it (top GiB uncached) */
	for (uint64_t a = phys & ~(PAGE_2M - 1); a < phys + len; a += PAGE_2M) {
		uint64_t *pdpt = next_level(boot_pml4, (a >> 39) & 511);
		uint64_t *pd = next_level(pdpt, (a >> 30) & 511);
		uint64_t *pde = &pd[(a >> 21) & 511];
		if (!(*pde & PTE_P)) {
			*pde = a | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
			invlpg(a);
		}
	}
	return (void *)phys;
}

void paging_guard(void *page)
{
	uint64_t a = (uint64_t)page;
	kassert(!(a & 4095) && a < (4ULL << 30));
	uint64_t *pdpt = (uint64_t *)(boot_pml4[(a >> 39) & 511] & PTE_ADDR);
	uint64_t *pd = (uint64_t *)(pdpt[(a >> 30) & 511] & PTE_ADDR);
	uint64_t *pde = &pd[(a >> 21) & 511];
	if (*pde & PTE_PS) {
		/* Split the 2 MiB page into 512 pages of 4 KiB, same flags. */
		uint64_t *pt = kmalloc_aligned(4096, 4096);
		if (!pt)
			panic("paging: out of memory for a guard page");
		uint64_t base = *pde & ~(PAGE_2M - 1) & PTE_ADDR;
		uint64_t flags = *pde & (PTE_P | PTE_W | PTE_PCD | PTE_PWT);
		for (int i = 0; i < 512; i++)
			pt[i] = (base + ((uint64_t)i << 12)) | flags;
		*pde = (uint64_t)pt | PTE_P | PTE_W;
		for (uint64_t v = base; v < base + PAGE_2M; v += 4096)
			invlpg(v);
	}
	uint64_t *pt = (uint64_t *)(*pde & PTE_ADDR);
	pt[(a >> 12) & 511] = (a & PTE_ADDR) | PTE_GUARD;       /* not present */
	invlpg(a);
}

bool paging_is_guard(uint64_t a)
{
	if (a >= (4ULL << 30))
		return false;
	const uint64_t *pdpt = (const uint64_t *)(boot_pml4[(a >> 39) & 511] & PTE_ADDR);
	const uint64_t *pd = (const uint64_t *)(pdpt[(a >> 30) & 511] & PTE_ADDR);
	uint64_t pde = pd[(a >> 21) & 511];
	if (!(pde & PTE_P) || (pde & PTE_PS))
		return false;
	uint64_t pte = ((const uint64_t *)(pde & PTE_ADDR))[(a >> 12) & 511];
	return !(pte & PTE_P) && (pte & PTE_GUARD);
}
