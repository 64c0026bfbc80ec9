/* panic.h - stop the machine with a report on the console. A panic never
 * reboots: the reporting core stops every other core with an NMI and then
 * halts with interrupts off. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include <stdint.h>

void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* "PANIC: exception 14 (page fault: NULL dereference) on core 0: ...";
 * cause may be NULL. */
void panic_exception(const char *name, const char *cause, uint64_t vector, uint64_t error,
		     uint64_t rip, uint64_t rsp, uint64_t cr2) __attribute__((noreturn));
int panic_in_progress(void);
void panic_halt_here(void) __attribute__((noreturn));
/* How the report names the core (the per-CPU table registers it). */
void panic_set_core_index(int (*fn)(void));

#define kassert(cond) \
	do { \
		if (!(cond)) \
			panic("assertion failed: %s at %s:%d", #cond, __FILE__, __LINE__); \
	} while (0)

#endif
