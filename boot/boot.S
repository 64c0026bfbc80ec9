/* boot.S - multiboot2 header and the 32-bit entry GRUB jumps to.
 * Multiboot2 spec 3.1 (header), 3.3 (machine state: protected mode, paging
 * off, EAX = magic, EBX = info). Builds identity page tables for the first
 * 4 GiB with 2 MiB pages, enters long mode and calls kmain(magic, info).
 * These tables are writable and executable everywhere, only to reach C:
 * kernel/paging.c replaces them with the final W^X tables. */

#define MB2_MAGIC        0xe85250d6
#define MB2_ARCH_I386    0
#define MB2_TAG_END      0

#define CR0_PG           (1 << 31)
#define CR0_WP           (1 << 16)
#define CR0_NW           (1 << 29)
#define CR0_CD           (1 << 30)
#define CR4_PAE          (1 << 5)
#define MSR_EFER         0xc0000080
#define   EFER_LME       (1 << 8)
#define PTE_P            0x001
#define PTE_W            0x002
#define PTE_PWT          0x008
#define PTE_PCD          0x010
#define PTE_PS           0x080

#define SEL_CODE64       0x08
#define SEL_DATA         0x10

#define MB1_MAGIC        0x1badb002
#define MB1_FLAGS        0x00010002     /* memory map, address fields valid */

	.section .multiboot, "a"
	/* Multiboot (1) header, for loaders that only speak version 1, such
	 * as QEMU's -kernel: the address fields let it load this ELF64 image
	 * as the flat file it is (one PT_LOAD, see linker.ld). */
	.balign 4
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)
	.long mb1_header                /* header_addr */
	.long __kernel_start            /* load_addr */
	.long __data_end                /* load_end_addr */
	.long __bss_end                 /* bss_end_addr */
	.long _start                    /* entry_addr */

	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	.balign 8
	.short MB2_TAG_END
	.short 0
	.long 8
mb2_header_end:

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl $boot_stack_top, %esp
	movl %eax, mb_magic
	movl %ebx, mb_info

	/* Zero .bss (the page tables and stack live there; the stack is not
	 * in use yet since nothing was pushed). */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb

	/* PML4[0] -> PDPT; PDPT[0..3] -> four page directories. */
	movl $boot_pdpt, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, boot_pml4

	movl $boot_pd, %eax
	orl $(PTE_P | PTE_W), %eax
	xorl %ecx, %ecx
1:	movl %eax, boot_pdpt(,%ecx,8)
	addl $4096, %eax
	incl %ecx
	cmpl $4, %ecx
	jb 1b

	/* 2048 2 MiB pages = 4 GiB; the top GiB (LAPIC, IOAPIC, PCI BARs)
	 * uncached. */
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $(PTE_P | PTE_W | PTE_PS), %eax
	cmpl $1536, %ecx
	jb 3f
	orl $(PTE_PCD | PTE_PWT), %eax
3:	movl %eax, boot_pd(,%ecx,8)
	movl %ecx, %eax
	shrl $11, %eax
	movl %eax, boot_pd+4(,%ecx,8)
	incl %ecx
	cmpl $2048, %ecx
	jb 2b

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP), %eax
	/* Caches on: a CPU leaves reset with CD and NW set (SDM vol. 3, 9.1.1),
	 * and no emulator minds, but under KVM a core left that way runs
	 * about a thousand times slower. */
	andl $~(CR0_CD | CR0_NW), %eax
	movl %eax, %cr0

	lgdt boot_gdt_ptr
	ljmp $SEL_CODE64, $long_entry

	.code64
long_entry:
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movq $boot_stack_top, %rsp
	xorq %rbp, %rbp
	movl mb_magic, %edi
	movl mb_info, %esi
	call kmain
4:	cli
	hlt
	jmp 4b

	/* Read-only once paging_init ran: the accessed bits (types 0x9b,
	 * 0x93) are set here, so the CPU never has to write them. */
	.section .rodata
	.balign 16
	.globl boot_gdt
boot_gdt:
	.quad 0                         /* null */
	.quad 0x00af9b000000ffff        /* 0x08 code, 64-bit */
	.quad 0x00cf93000000ffff        /* 0x10 data */
	.quad 0x00cf9b000000ffff        /* 0x18 code, 32-bit (AP trampoline) */
boot_gdt_end:
	.globl boot_gdt_ptr
boot_gdt_ptr:
	.short boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

	.section .data
mb_magic: .long 0
mb_info:  .long 0

	.section .bss
	.balign 4096
	.globl boot_pml4
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
	.globl boot_pd
boot_pd:   .skip 4096 * 4
	/* The BSP's stack (it runs lwIP and the services), with a canary
	 * word at its bottom that the idle loop checks, above a guard page
	 * that kernel/cpu.c unmaps: an overflow faults at once instead of
	 * running into the page tables. */
	.globl boot_stack_guard
boot_stack_guard: .skip 4096
	.globl boot_stack
boot_stack: .skip 65536
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
