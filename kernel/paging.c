/* paging.c - extends the boot identity map with 2 MiB pages for device
 * memory above 4 GiB (SDM vol. 3, 4.5: 4-level paging). Called on the BSP
 * during driver set-up, before the APs could use those addresses. */
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
