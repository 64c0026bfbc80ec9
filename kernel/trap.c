/* trap.c - the IDT and the dispatcher every vector stub calls. CPU
 * exceptions print the panic report (vector, error code, RIP, RSP, core)
 * and stop every core; other vectors go to registered handlers. */
#include "trap.h"

#include <stddef.h>

#include "gdt.h"
#include "lapic.h"
#include "paging.h"
#include "panic.h"
#include "x86.h"

#define IDT_INTGATE     0x8e    /* present, DPL 0, 64-bit interrupt gate */
#define VEC_NMI         2
#define VEC_DF          8
#define VEC_MC          18
#define VEC_PF          14
#define   PF_P          (1u << 0)       /* the page was present: a rights violation */
#define   PF_W          (1u << 1)       /* a write */
#define   PF_RSVD       (1u << 3)       /* a reserved bit was set in an entry */
#define   PF_ID         (1u << 4)       /* an instruction fetch */

struct idt_entry {
	uint16_t off_lo;        /* handler bits 0..15 */
	uint16_t sel;           /* code segment */
	uint8_t ist;            /* IST index, 0 = current stack */
	uint8_t type;           /* gate type and present bit */
	uint16_t off_mid;       /* handler bits 16..31 */
	uint32_t off_hi;        /* handler bits 32..63 */
	uint32_t zero;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_entry) == 16, "SDM 6.14.1");

static struct idt_entry idt[256] __attribute__((aligned(16)));
static struct {
	irq_handler fn;
	void *arg;
} handlers[256];
static int next_device_vector = VEC_DEVICE_BASE;

extern char trap_vectors_start[];

static const char *const exc_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault", "coproc overrun",
	"invalid TSS", "segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 FP", "alignment check", "machine check",
	"SIMD FP", "virtualization", "control protection",
};

void trap_init(void)
{
	for (int v = 0; v < 256; v++) {
		uint64_t h = (uint64_t)(trap_vectors_start + 16 * v);
		idt[v].off_lo = h & 0xffff;
		idt[v].sel = SEL_KCODE;
		idt[v].ist = (v == VEC_NMI || v == VEC_DF || v == VEC_MC) ? 1 : 0;
		idt[v].type = IDT_INTGATE;
		idt[v].off_mid = (h >> 16) & 0xffff;
		idt[v].off_hi = h >> 32;
	}
	lidt(idt, sizeof(idt));         /* on the BSP at once: an early fault reports */
}

void trap_init_cpu(void)
{
	lidt(idt, sizeof(idt));
}

void trap_set_handler(int vector, irq_handler fn, void *arg)
{
	handlers[vector].arg = arg;
	__atomic_store_n(&handlers[vector].fn, fn, __ATOMIC_RELEASE);
}

int trap_alloc_vector(void)
{
	if (next_device_vector > VEC_DEVICE_MAX)
		return -1;
	return next_device_vector++;
}

/* What a page fault was, from its error code (SDM vol. 3, 4.7) and CR2. */
static const char *pf_cause(uint64_t err, uint64_t cr2)
{
	if (err & PF_RSVD)
		return "reserved bit set in a page table entry";
	if (!(err & PF_P) && cr2 < PAGING_NULL_GUARD_END)
		return "NULL dereference";
	if (err & PF_ID)
		return err & PF_P ? "execute of non-executable memory" : "execute of unmapped memory";
	if (err & PF_W)
		return err & PF_P ? "write to read-only memory" : "write to unmapped memory";
	return err & PF_P ? "read of protected memory" : "read of unmapped memory";
}

void trap(struct trapframe *tf)
{
	if (tf->vector == VEC_NMI && panic_in_progress())
		panic_halt_here();
	/* A push into a stack's guard page: #PF, or #DF when the #PF frame
	 * could not be pushed either (the #DF runs on the IST stack). */
	if ((tf->vector == VEC_PF || tf->vector == VEC_DF) && paging_is_guard(read_cr2()))
		panic("stack overflow: guard page 0x%lx hit (exception %lu, rip=0x%lx rsp=0x%lx)",
		      (unsigned long)read_cr2(), (unsigned long)tf->vector, (unsigned long)tf->rip,
		      (unsigned long)tf->rsp);
	if (tf->vector < 32) {
		uint64_t cr2 = tf->vector == VEC_PF ? read_cr2() : 0;
		panic_exception(exc_names[tf->vector] ? exc_names[tf->vector] : "reserved",
				tf->vector == VEC_PF ? pf_cause(tf->error, cr2) : NULL,
				tf->vector, tf->error, tf->rip, tf->rsp, cr2);
	}
	if (tf->vector == VEC_SPURIOUS)
		return;
	irq_handler fn = __atomic_load_n(&handlers[tf->vector].fn, __ATOMIC_ACQUIRE);
	if (fn)
		fn(handlers[tf->vector].arg);
	if (tf->vector >= VEC_DEVICE_BASE)
		lapic_eoi();
}
