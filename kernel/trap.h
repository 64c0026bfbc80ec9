/* trap.h - the IDT, interrupt vectors and handler registration. */
#ifndef KERNEL_TRAP_H
#define KERNEL_TRAP_H

#include <stdint.h>

#include "vectors.h"

struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;  /* pushed by the CPU */
};
_Static_assert(sizeof(struct trapframe) == 22 * 8, "matches vectors.S");

typedef void (*irq_handler)(void *arg);

void trap_init(void);           /* once: build the IDT */
void trap_init_cpu(void);       /* every core: load it */
/* Handlers run in interrupt context with interrupts off; EOI is sent
 * after they return. */
void trap_set_handler(int vector, irq_handler fn, void *arg);
int trap_alloc_vector(void);    /* a free device vector, or -1 */

#endif
