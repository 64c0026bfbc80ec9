/* ssp.c - the stack smashing protector's guard word and failure path.
 * GCC's -fstack-protector-strong puts a copy of __stack_chk_guard between
 * a function's arrays (or address-taken locals) and its return address,
 * and calls __stack_chk_fail on return when the copy changed. The guard
 * lives in .data.ro_after_init: written once here, then read-only
 * (paging_init), so an overflow elsewhere cannot rewrite it to match. */
#include "ssp.h"

#include "console.h"
#include "entropy.h"
#include "panic.h"

/* A fixed non-zero value until ssp_init; the zero byte at the bottom
 * stops string copies (strcpy, %s) at the canary, as glibc's does. */
#define GUARD_ZERO_BYTE 0xffffffffffffff00ULL

uint64_t __stack_chk_guard __attribute__((section(".data.ro_after_init"))) =
	0x5eed5eed5eed5e00ULL;

/* Itself unprotected: its own frame would hold the old guard when the
 * new one is in place. */
__attribute__((no_stack_protector)) void ssp_init(void)
{
	__stack_chk_guard = entropy_u64() & GUARD_ZERO_BYTE;
	kprintf("ssp: stack canary from %s\n", entropy_source());
}

void __stack_chk_fail(void)
{
	/* The return address lies in the function whose canary changed. */
	panic("stack smashing detected (in the function at rip=0x%lx)",
	      (unsigned long)__builtin_return_address(0));
}
