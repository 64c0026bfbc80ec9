/* trampoline.S - where an application processor starts after INIT-SIPI-SIPI
 * (Intel SDM vol. 3, 8.4.4: real mode at the SIPI vector page). The BSP
 * copies this blob to TRAMPOLINE_BASE and fills the parameter block at its
 * end; the AP climbs to long mode on the BSP's page tables and calls
 * entry(). Code here runs at TRAMPOLINE_BASE, not where it was linked. */

#define TRAMPOLINE_BASE  0x8000
#define ABS(x)           ((x) - trampoline_start + TRAMPOLINE_BASE)

#define CR0_PE           1
#define CR0_PG           (1 << 31)
#define CR0_WP           (1 << 16)
#define CR4_PAE          (1 << 5)
#define MSR_EFER         0xc0000080
#define   EFER_LME       (1 << 8)

	.section .rodata
	.globl trampoline_start, trampoline_end
	.code16
trampoline_start:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl ABS(tramp_gdt_ptr)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $0x18, $ABS(tramp32)

	.code32
tramp32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl ABS(tramp_cr3), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP), %eax
	movl %eax, %cr0
	ljmp $0x08, $ABS(tramp64)

	.code64
tramp64:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movq ABS(tramp_stack), %rsp
	movq ABS(tramp_arg), %rdi
	movq ABS(tramp_entry), %rax
	xorq %rbp, %rbp
	call *%rax
1:	cli
	hlt
	jmp 1b

	.balign 16
tramp_gdt:
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00cf9a000000ffff
tramp_gdt_end:
tramp_gdt_ptr:
	.short tramp_gdt_end - tramp_gdt - 1
	.long ABS(tramp_gdt)

	/* Parameter block, filled by smp_start_aps (struct trampoline_params). */
	.balign 8
	.globl trampoline_params
trampoline_params:
tramp_cr3:   .quad 0
tramp_stack: .quad 0
tramp_entry: .quad 0
tramp_arg:   .quad 0
trampoline_end:

	.section .note.GNU-stack, "", @progbits
