/* panic.c - the one way the kernel stops: report, stop the other cores,
 * halt for good. The first core to panic wins; any other core that
 * faults meanwhile just halts. */
#include "panic.h"

#include <stdarg.h>

#include "console.h"
#include "fmt.h"
#include "lapic.h"
#include "x86.h"

static volatile int panicking;
static int (*core_index)(void);        /* set once the per-CPU table exists */

void panic_set_core_index(int (*fn)(void))
{
	core_index = fn;
}

int panic_in_progress(void)
{
	return __atomic_load_n(&panicking, __ATOMIC_RELAXED);
}

void panic_halt_here(void)
{
	for (;;) {
		cli();
		hlt();
	}
}

static int core_for_report(void)
{
	/* GS is zero until cpu_init_this ran on this core. */
	return core_index && rdmsr(MSR_GS_BASE) ? core_index() : -1;
}

static void __attribute__((noreturn)) stop_all(void)
{
	if (lapic_ready())
		lapic_send_nmi_all_but_self();
	console_printf_unlocked("panic: system halted\n");
	panic_halt_here();
}

static int claim(void)
{
	cli();
	return __atomic_exchange_n(&panicking, 1, __ATOMIC_SEQ_CST) == 0;
}

void panic(const char *fmt, ...)
{
	if (!claim())
		panic_halt_here();
	va_list ap;
	va_start(ap, fmt);
	char msg[256];
	fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	console_printf_unlocked("\nPANIC on core %d: %s\n", core_for_report(), msg);
	stop_all();
}

void panic_exception(const char *name, const char *cause, uint64_t vector, uint64_t error,
		     uint64_t rip, uint64_t rsp, uint64_t cr2)
{
	if (!claim())
		panic_halt_here();
	console_printf_unlocked("\nPANIC: exception %lu (%s%s%s) on core %d: error=0x%lx rip=0x%lx "
				"rsp=0x%lx cr2=0x%lx\n",
				(unsigned long)vector, name, cause ? ": " : "", cause ? cause : "",
				core_for_report(),
				(unsigned long)error, (unsigned long)rip, (unsigned long)rsp,
				(unsigned long)cr2);
	stop_all();
}
