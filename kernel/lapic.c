/* lapic.c - local APIC access (Intel SDM vol. 3, chapter 10), x2APIC MSRs
 * or xAPIC MMIO behind one pair of read/write helpers. The timer is only
 * ever armed one-shot: no periodic LAPIC timer exists in this kernel. */
#include "lapic.h"

#include "console.h"
#include "time.h"
#include "vectors.h"
#include "x86.h"

/* Register offsets (xAPIC MMIO offset; x2APIC MSR = 0x800 + offset/16). */
#define LAPIC_ID        0x020
#define LAPIC_TPR       0x080
#define LAPIC_EOI       0x0b0
#define LAPIC_SVR       0x0f0
#define   SVR_ENABLE    0x100
#define LAPIC_ICR_LO    0x300
#define   ICR_FIXED     0x000
#define   ICR_NMI       0x400
#define   ICR_INIT      0x500
#define   ICR_STARTUP   0x600
#define   ICR_PENDING   0x1000
#define   ICR_ASSERT    0x4000
#define   ICR_LEVEL     0x8000
#define   ICR_ALL_BUT_SELF 0xc0000
#define LAPIC_ICR_HI    0x310
#define LAPIC_LVT_TIMER 0x320
#define   LVT_MASKED    0x10000
#define   LVT_ONESHOT   0x00000
#define   LVT_TSC_DEADLINE 0x40000
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define   DIV_BY_16     0x3

#define APIC_BASE_X2APIC  (1u << 10)
#define APIC_BASE_ENABLE  (1u << 11)
#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSCDL  (1u << 24)

static volatile uint32_t *xapic;        /* MMIO base in xAPIC mode */
static bool x2apic;
static bool tsc_deadline;
static uint64_t timer_hz;               /* count-mode ticks per second */

bool lapic_x2apic(void)
{
	return x2apic;
}

bool lapic_ready(void)
{
	return x2apic || xapic;
}

static uint32_t lapic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(0x800 + reg / 16);
	return xapic[reg / 4];
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(0x800 + reg / 16, v);
	else
		xapic[reg / 4] = v;
}

static void icr_send(uint32_t dest, uint32_t low)
{
	if (x2apic) {
		/* One 64-bit MSR write; WRMSR to the x2APIC ICR is not
		 * serializing, which is fine for IPIs. */
		wrmsr(0x830, ((uint64_t)dest << 32) | low);
		return;
	}
	xapic[LAPIC_ICR_HI / 4] = dest << 24;
	xapic[LAPIC_ICR_LO / 4] = low;
	while (xapic[LAPIC_ICR_LO / 4] & ICR_PENDING)
		pause();
}

/* EN first, then EN|EXTD: going from disabled straight to x2APIC is not
 * a valid transition (SDM vol. 3, 10.12.5). Already in x2APIC mode (the
 * firmware switched it on for APIC IDs above 255): rewriting it is fine. */
static void enable_mode(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, base |= APIC_BASE_ENABLE);
	if (x2apic && !(base & APIC_BASE_X2APIC))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_X2APIC);
}

void lapic_init(void)
{
	uint32_t a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	/* x2APIC where the CPU offers it (always under KVM), or where the
	 * firmware already turned it on: from there xAPIC mode is out of
	 * reach without disabling the APIC. */
	x2apic = (c & CPUID1_ECX_X2APIC) || (rdmsr(MSR_APIC_BASE) & APIC_BASE_X2APIC);
	tsc_deadline = c & CPUID1_ECX_TSCDL;
	enable_mode();          /* before any register is touched */
	if (!x2apic)
		xapic = (volatile uint32_t *)(rdmsr(MSR_APIC_BASE) & ~0xfffULL);
}

void lapic_init_cpu(void)
{
	enable_mode();
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_EOI, 0);
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(LAPIC_ID);
	return x2apic ? id : id >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

void lapic_send_ipi(uint32_t apic_id, int vector)
{
	icr_send(apic_id, ICR_FIXED | ICR_ASSERT | (uint32_t)vector);
}

void lapic_send_init(uint32_t apic_id)
{
	icr_send(apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
}

void lapic_send_sipi(uint32_t apic_id, uint8_t page)
{
	icr_send(apic_id, ICR_STARTUP | ICR_ASSERT | page);
}

void lapic_send_nmi_all_but_self(void)
{
	icr_send(0, ICR_NMI | ICR_ASSERT | ICR_ALL_BUT_SELF);
}

void lapic_timer_init(void)
{
	if (tsc_deadline)
		return;
	/* Count-mode frequency: let the timer run down for 10 ms of TSC. */
	lapic_write(LAPIC_TIMER_DIV, DIV_BY_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LVT_ONESHOT | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffff);
	time_delay_us(10000);
	uint32_t left = lapic_read(LAPIC_TIMER_CUR);
	lapic_write(LAPIC_TIMER_INIT, 0);
	timer_hz = (uint64_t)(0xffffffffu - left) * 100;
	if (!timer_hz)
		timer_hz = 1;
}

const char *lapic_timer_mode(void)
{
	return tsc_deadline ? "tsc-deadline" : "one-shot count";
}

uint64_t lapic_timer_oneshot(uint64_t deadline_ns)
{
	uint64_t now = time_ns();
	uint64_t delta = deadline_ns > now ? deadline_ns - now : 0;
	if (tsc_deadline) {
		lapic_write(LAPIC_LVT_TIMER, LVT_TSC_DEADLINE | VEC_TIMER);
		uint64_t cycles = time_scale(delta, tsc_hz, 1000000000ULL);
		wrmsr(MSR_TSC_DEADLINE, rdtsc() + (cycles ? cycles : 1));
		return deadline_ns;
	}
	uint64_t ticks = time_scale(delta, timer_hz, 1000000000ULL);
	if (ticks == 0)
		ticks = 1;
	if (ticks > 0xffffffffu) {
		ticks = 0xffffffffu;    /* fires early; the caller re-arms */
		deadline_ns = now + ticks * 1000000000ULL / timer_hz;
	}
	lapic_write(LAPIC_TIMER_DIV, DIV_BY_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_ONESHOT | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)ticks);
	return deadline_ns;
}

void lapic_timer_cancel(void)
{
	if (tsc_deadline)
		wrmsr(MSR_TSC_DEADLINE, 0);
	else
		lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
}
