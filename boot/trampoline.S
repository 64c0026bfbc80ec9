/* trampoline.S - where an application processor starts after INIT-SIPI-SIPI
 * (Intel SDM vol. 3, 8.4.4: real mode at the SIPI vector page). The BSP
 * copies this blob to TRAMPOLINE_BASE, makes that page read-only and
 * executable, and fills the parameter block in the page above it (its own
 * page, writable and never executable: W^X); the AP climbs to long mode on
 * the BSP's page tables and calls entry(). Code here runs at
 * TRAMPOLINE_BASE, not where it was linked. */

#define TRAMPOLINE_BASE   0x8000        /* smp.c: the same */
#define TRAMPOLINE_PARAMS 0x9000        /* smp.c: struct trampoline_params */
#define ABS(x)            ((x) - trampoline_start + TRAMPOLINE_BASE)
#define P_CR3             (TRAMPOLINE_PARAMS + 0)
#define P_ENTRY           (TRAMPOLINE_PARAMS + 8)
#define P_SLOTS           (TRAMPOLINE_PARAMS + 16)
#define P_MAX_APIC        (TRAMPOLINE_PARAMS + 24)
#define P_EFER            (TRAMPOLINE_PARAMS + 32)
#define P_PARKED          (TRAMPOLINE_PARAMS + 36)

#define CR0_PE           1
#define CR0_PG           (1 << 31)
#define CR0_WP           (1 << 16)
#define CR0_NW           (1 << 29)
#define CR0_CD           (1 << 30)
#define CR4_PAE          (1 << 5)
#define MSR_EFER         0xc0000080

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
	movl P_CR3, %eax
	movl %eax, %cr3
	/* Long mode, and NX before the first access through tables that
	 * use bit 63 (without NXE it is reserved: every access would fault,
	 * with no IDT yet to report it). */
	movl $MSR_EFER, %ecx
	rdmsr
	orl P_EFER, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP), %eax
	andl $~(CR0_CD | CR0_NW), %eax  /* an AP leaves INIT with caches off (boot.S) */
	movl %eax, %cr0
	ljmp $0x08, $ABS(tramp64)

	.code64
tramp64:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	/* Every AP runs this at once. Its own APIC ID picks its slot: CPUID
	 * leaf 0xB (the x2APIC ID) where it is valid, else leaf 1. */
	xorl %eax, %eax
	cpuid
	cmpl $0xb, %eax
	jb 1f
	movl $0xb, %eax
	xorl %ecx, %ecx
	cpuid
	testl %ebx, %ebx
	jz 1f
	movl %edx, %esi
	jmp 2f
1:	movl $1, %eax
	cpuid
	shrl $24, %ebx
	movl %ebx, %esi
2:	cmpq P_MAX_APIC, %rsi
	ja park                         /* not a core the BSP knows */
	movq P_SLOTS, %rbx
	shlq $4, %rsi
	addq %rsi, %rbx                 /* struct ap_slot { stack_top; cpu; } */
	movq (%rbx), %rax
	testq %rax, %rax
	jz park                         /* withdrawn: it answered after its timeout */
	xorl %ecx, %ecx
	lock cmpxchgq %rcx, (%rbx)      /* claim the stack, or lose to a withdrawal */
	jnz park
	movq %rax, %rsp
	movq 8(%rbx), %rdi
	movq P_ENTRY, %rax
	xorq %rbp, %rbp
	call *%rax
park:
	lock incl P_PARKED
3:	cli
	hlt
	jmp 3b

	/* The accessed bits (type 0x9b, 0x93) are set already: the CPU sets
	 * them when it loads a selector, a write this read-only page would
	 * refuse once paging is on (the far jump to tramp64). */
	.balign 16
tramp_gdt:
	.quad 0
	.quad 0x00af9b000000ffff
	.quad 0x00cf93000000ffff
	.quad 0x00cf9b000000ffff
tramp_gdt_end:
tramp_gdt_ptr:
	.short tramp_gdt_end - tramp_gdt - 1
	.long ABS(tramp_gdt)
trampoline_end:

	.section .note.GNU-stack, "", @progbits
