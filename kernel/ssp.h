/* ssp.h - GCC's stack smashing protector (-fstack-protector-strong with
 * -mstack-protector-guard=global): the guard word every protected frame
 * copies below its return address, and what happens when a copy changed. */
#ifndef KERNEL_SSP_H
#define KERNEL_SSP_H

#include <stdint.h>

extern uint64_t __stack_chk_guard;

/* Once, on the BSP, early in kmain, while no protected function but kmain
 * is on the stack (kmain never returns, so its stale copy is never
 * checked): draws the guard word from entropy_u64 and says from where. */
void ssp_init(void);
/* Called by a protected function whose copy no longer matches: panics
 * with "stack smashing detected" (the report names the core). */
void __stack_chk_fail(void) __attribute__((noreturn));

#endif
