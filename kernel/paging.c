/* paging.c - the kernel's identity map and what each page may be used for
 * (SDM vol. 3, 4.5: 4-level paging; 4.6: access rights; 4.1.4 and 2.2.1:
 * EFER.NXE enables the XD bit). boot.S maps 4 GiB with 2 MiB pages, all
 * writable and executable, just to reach C. paging_init replaces that with
 * the final tables, W^X:
 *
 *   0 .. 4 KiB            not present: a NULL dereference faults
 *   4 KiB .. 1 MiB        read-write, no-execute (BIOS data, the AP
 *                         trampoline's parameters; its code page becomes
 *                         read-only and executable in smp_prepare)
 *   text                  read-only, executable
 *   rodata, ro_after_init read-only, no-execute
 *   data, bss, the rest   read-write, no-execute (heap, stacks, per-CPU
 *   of the 4 GiB          areas, DMA buffers; the top GiB uncached: LAPIC,
 *                         IOAPIC, PCI BARs), MMIO above 4 GiB likewise
 *
 * 2 MiB pages everywhere except where a boundary falls inside one (the
 * first 2 MiB, the image's) and below the stack guard pages. Every change
 * after paging_init is made on the BSP before the APs start, or adds a
 * mapping where none was (no other core's TLB can hold the old entry). */
#include "paging.h"

#include <string.h>

#include "console.h"
#include "kheap.h"
#include "panic.h"
#include "x86.h"

#define PTE_P     (1ULL << 0)
#define PTE_W     (1ULL << 1)
#define PTE_PWT   (1ULL << 3)
#define PTE_PCD   (1ULL << 4)
#define PTE_PS    (1ULL << 7)   /* in a PDE: a 2 MiB page */
#define PTE_GUARD (1ULL << 9)   /* available to software: a guard page */
#define PTE_NX    (1ULL << 63)  /* execute-disable, honoured when EFER.NXE */
#define PTE_ADDR  0x000ffffffffff000ULL
#define PTE_RIGHTS (PTE_P | PTE_W | PTE_PCD | PTE_PWT | PTE_NX)
#define PAGE_4K   4096ULL
#define PAGE_2M   (2ULL << 20)
#define MAPPED_END (4ULL << 30)         /* RAM and MMIO below: mapped at boot */
#define UNCACHED_START (3ULL << 30)     /* the top GiB: LAPIC, IOAPIC, PCI BARs */
#define CPUID_EXT_NX (1u << 20)         /* CPUID 0x80000001 EDX: XD/NX */

extern uint64_t boot_pml4[512];
extern char __kernel_start[], __text_end[], __ro_after_init_end[];

static uint64_t *pml4 = boot_pml4;      /* the live tables */
static uint64_t nx;                     /* PTE_NX once EFER.NXE is on, else 0 */

/* paging_init's tables come from one block: each 4 KiB-aligned heap
 * allocation of its own would cost 8 KiB (the heap's tag sits below it). */
static uint8_t *pool;
static int pool_left;

static uint64_t *alloc_table(void)
{
	uint64_t *t;
	if (pool_left > 0) {
		t = (uint64_t *)pool;
		pool += PAGE_4K;
		pool_left--;
	} else {
		t = kmalloc_aligned(PAGE_4K, PAGE_4K);
		if (!t)
			panic("paging: out of memory for page tables");
	}
	memset(t, 0, PAGE_4K);
	return t;
}

static uint64_t *next_level(uint64_t *table, int idx)
{
	if (!(table[idx] & PTE_P))
		table[idx] = (uint64_t)alloc_table() | PTE_P | PTE_W;
	return (uint64_t *)(table[idx] & PTE_ADDR);
}

static uint64_t rights(enum paging_rights r)
{
	switch (r) {
	case PAGING_RX:
		return PTE_P;
	case PAGING_RO:
		return PTE_P | nx;
	case PAGING_RW:
		return PTE_P | PTE_W | nx;
	}
	return 0;
}

/* The rights paging_init gives the 4 KiB page at a (below MAPPED_END). */
static uint64_t initial_pte(uint64_t a)
{
	if (a < PAGING_NULL_GUARD_END)
		return 0;
	uint64_t f;
	if (a >= (uint64_t)__kernel_start && a < (uint64_t)__text_end)
		f = rights(PAGING_RX);
	else if (a >= (uint64_t)__text_end && a < (uint64_t)__ro_after_init_end)
		f = rights(PAGING_RO);
	else
		f = rights(PAGING_RW);
	if (a >= UNCACHED_START)
		f |= PTE_PCD | PTE_PWT;
	return a | f;
}

/* The entry that maps a, 4 KiB or 2 MiB, or 0 when none is present. */
static uint64_t leaf(uint64_t a)
{
	const uint64_t *t = pml4;
	uint64_t e = t[(a >> 39) & 511];
	if (!(e & PTE_P))
		return 0;
	t = (const uint64_t *)(e & PTE_ADDR);
	e = t[(a >> 30) & 511];
	if (!(e & PTE_P))
		return 0;
	t = (const uint64_t *)(e & PTE_ADDR);
	e = t[(a >> 21) & 511];
	if (!(e & PTE_P) || (e & PTE_PS))
		return e;
	return ((const uint64_t *)(e & PTE_ADDR))[(a >> 12) & 511];
}

void paging_init(void)
{
	uint32_t max, a, b, c, d;
	cpuid(0x80000000, 0, &max, &b, &c, &d);
	if (max >= 0x80000001) {
		cpuid(0x80000001, 0, &a, &b, &c, &d);
		if (d & CPUID_EXT_NX) {
			/* Before any entry with bit 63 is live: without NXE it is
			 * a reserved bit and every access through it faults. */
			wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
			nx = PTE_NX;
		}
	}
	/* boot.S set it already; the kernel's own writes to text and rodata
	 * fault only with it. */
	write_cr0(read_cr0() | CR0_WP);

	uint64_t split_end = ((uint64_t)__ro_after_init_end + PAGE_2M - 1) & ~(PAGE_2M - 1);
	int tables = 2 + (int)(MAPPED_END >> 30) + (int)(split_end / PAGE_2M);
	pool = kmalloc_aligned((size_t)tables * PAGE_4K, PAGE_4K);
	if (!pool)
		panic("paging: out of memory for page tables");
	pool_left = tables;
	uint64_t *top = alloc_table();
	uint64_t *pdpt = next_level(top, 0);
	for (uint64_t r = 0; r < MAPPED_END; r += PAGE_2M) {
		uint64_t *pd = next_level(pdpt, (int)(r >> 30));
		uint64_t *pde = &pd[(r >> 21) & 511];
		if (r < split_end) {
			uint64_t *pt = alloc_table();
			for (int i = 0; i < 512; i++)
				pt[i] = initial_pte(r + (uint64_t)i * PAGE_4K);
			*pde = (uint64_t)pt | PTE_P | PTE_W;
		} else {
			*pde = initial_pte(r) | PTE_PS;
		}
	}
	kassert(pool_left == 0);
	write_cr3((uint64_t)top);      /* flushes every old translation */
	pml4 = top;
	kprintf("mmu:%s%s%s; text r-x %lu KiB, rodata r-- %lu KiB, the rest rw-%s\n",
		nx ? " nx" : "", (read_cr0() & CR0_WP) ? " wp" : "",
		(leaf(0) & PTE_P) ? "" : " null-guard",
		(unsigned long)((__text_end - __kernel_start) >> 10),
		(unsigned long)((__ro_after_init_end - __text_end) >> 10), nx ? " no-exec" : "");
}

void paging_check_cpu(void)
{
	/* trampoline.S sets both from the parameters smp_start_aps gives it. */
	if (nx && !(rdmsr(MSR_EFER) & EFER_NXE))
		panic("paging: EFER.NXE is off on this core");
	if (!(read_cr0() & CR0_WP))
		panic("paging: CR0.WP is off on this core");
}

uint32_t paging_efer_bits(void)
{
	return EFER_LME | (nx ? EFER_NXE : 0);
}

/* The 4 KiB entry for a (below MAPPED_END), splitting its 2 MiB page
 * into 512 of the same rights first when needed. */
static uint64_t *pte_4k(uint64_t a)
{
	kassert(a < MAPPED_END);
	uint64_t *pdpt = (uint64_t *)(pml4[(a >> 39) & 511] & PTE_ADDR);
	uint64_t *pd = (uint64_t *)(pdpt[(a >> 30) & 511] & PTE_ADDR);
	uint64_t *pde = &pd[(a >> 21) & 511];
	if (*pde & PTE_PS) {
		uint64_t *pt = alloc_table();
		uint64_t base = *pde & ~(PAGE_2M - 1) & PTE_ADDR;
		uint64_t flags = *pde & PTE_RIGHTS;
		for (int i = 0; i < 512; i++)
			pt[i] = (base + (uint64_t)i * PAGE_4K) | flags;
		*pde = (uint64_t)pt | PTE_P | PTE_W;
		for (uint64_t v = base; v < base + PAGE_2M; v += PAGE_4K)
			invlpg(v);
	}
	return (uint64_t *)(*pde & PTE_ADDR) + ((a >> 12) & 511);
}

void *paging_map_mmio(uint64_t phys, uint64_t len)
{
	if (phys + len <= MAPPED_END)
		return (void *)phys;    /* paging_init mapped it (top GiB uncached) */
	for (uint64_t a = phys & ~(PAGE_2M - 1); a < phys + len; a += PAGE_2M) {
		uint64_t *pdpt = next_level(pml4, (a >> 39) & 511);
		uint64_t *pd = next_level(pdpt, (a >> 30) & 511);
		uint64_t *pde = &pd[(a >> 21) & 511];
		if (!(*pde & PTE_P)) {
			*pde = a | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT | nx;
			invlpg(a);
		}
	}
	return (void *)phys;
}

void paging_protect(uint64_t start, uint64_t len, enum paging_rights r)
{
	kassert(!(start & (PAGE_4K - 1)) && start >= PAGING_NULL_GUARD_END);
	for (uint64_t a = start; a < start + len; a += PAGE_4K) {
		uint64_t *pte = pte_4k(a);
		*pte = (*pte & ~(PTE_P | PTE_W | PTE_NX)) | rights(r);    /* caching kept */
		invlpg(a);
	}
}

void paging_guard(void *page)
{
	uint64_t a = (uint64_t)page;
	kassert(!(a & (PAGE_4K - 1)));
	*pte_4k(a) = (a & PTE_ADDR) | PTE_GUARD;        /* not present */
	invlpg(a);
}

bool paging_is_guard(uint64_t a)
{
	uint64_t e = leaf(a);
	return !(e & PTE_P) && (e & PTE_GUARD);
}
