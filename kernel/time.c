/* time.c - tickless time. The firmware leaves the PIT's channel 0 running
 * at 18.2 Hz and the 8259 PICs routing it: both are silenced here, so no
 * periodic interrupt exists at all. The TSC is calibrated from CPUID leaf
 * 0x15/0x16 when they give a frequency, else against a PIT channel-2
 * one-shot, which runs with its gate and raises no interrupt. */
#include "time.h"

#include "console.h"
#include "x86.h"

#define PIC1_CMD        0x20
#define PIC1_DATA       0x21
#define PIC2_CMD        0xa0
#define PIC2_DATA       0xa1
#define   ICW1_INIT     0x11    /* edge, cascade, ICW4 needed */
#define   ICW4_8086     0x01

#define PIT_CH0         0x40
#define PIT_CH2         0x42
#define PIT_CMD         0x43
#define   PIT_SEL_CH0   0x00
#define   PIT_SEL_CH2   0x80
#define   PIT_LOHI      0x30
#define   PIT_MODE0     0x00    /* interrupt on terminal count, one-shot */
#define PIT_HZ          1193182
#define PORT_B          0x61
#define   PORTB_GATE2   0x01
#define   PORTB_SPK     0x02
#define   PORTB_OUT2    0x20

#define CALIB_PIT_COUNT 11932   /* 10 ms: +-1 PIT count is 0.01 % */

uint64_t tsc_hz;
static uint64_t tsc_boot;
static uint64_t ns_mult;        /* ns = cycles * ns_mult >> 32 */

static void pic_disable(void)
{
	/* Remap onto 0x20..0x2f first so that a spurious IRQ 7/15 can never
	 * be mistaken for an exception, then mask every line. */
	outb(PIC1_CMD, ICW1_INIT);
	outb(PIC2_CMD, ICW1_INIT);
	outb(PIC1_DATA, 0x20);
	outb(PIC2_DATA, 0x28);
	outb(PIC1_DATA, 4);
	outb(PIC2_DATA, 2);
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

static void pit_stop(void)
{
	/* Mode 0 with a count of 1: the counter reaches zero once and stays
	 * there; the emulated PIT then has no timer left to run. */
	outb(PIT_CMD, PIT_SEL_CH0 | PIT_LOHI | PIT_MODE0);
	outb(PIT_CH0, 1);
	outb(PIT_CH0, 0);
}

static uint64_t calibrate_cpuid(void)
{
	uint32_t a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	uint32_t max = a;
	if (max >= 0x15) {
		cpuid(0x15, 0, &a, &b, &c, &d);
		if (a && b && c)
			return (uint64_t)c * b / a;
	}
	if (max >= 0x16) {
		cpuid(0x16, 0, &a, &b, &c, &d);
		if (a & 0xffff)
			return (uint64_t)(a & 0xffff) * 1000000;
	}
	return 0;
}

static uint64_t calibrate_pit(void)
{
	uint8_t b = inb(PORT_B);
	outb(PORT_B, (b & ~PORTB_SPK) & ~PORTB_GATE2);
	outb(PIT_CMD, PIT_SEL_CH2 | PIT_LOHI | PIT_MODE0);
	outb(PIT_CH2, CALIB_PIT_COUNT & 0xff);
	outb(PIT_CH2, CALIB_PIT_COUNT >> 8);
	uint64_t t0 = rdtsc();
	outb(PORT_B, (b & ~PORTB_SPK) | PORTB_GATE2);
	while (!(inb(PORT_B) & PORTB_OUT2))
		;
	uint64_t t1 = rdtsc();
	outb(PORT_B, b & ~(PORTB_SPK | PORTB_GATE2));
	return (t1 - t0) * PIT_HZ / CALIB_PIT_COUNT;
}

void time_init(void)
{
	pic_disable();
	pit_stop();
	const char *how = "cpuid";
	tsc_hz = calibrate_cpuid();
	if (!tsc_hz) {
		tsc_hz = calibrate_pit();
		how = "pit";
	}
	ns_mult = (1000000000ULL << 32) / tsc_hz;
	tsc_boot = rdtsc();
	kprintf("time: tsc %lu kHz (%s), PIT stopped, PICs masked\n",
		(unsigned long)(tsc_hz / 1000), how);
}

uint64_t time_scale(uint64_t x, uint64_t num, uint64_t den)
{
	return x / den * num + x % den * num / den;
}

uint64_t tsc_to_ns(uint64_t cycles)
{
	return (uint64_t)(((unsigned __int128)cycles * ns_mult) >> 32);
}

uint64_t time_ns(void)
{
	return tsc_to_ns(rdtsc() - tsc_boot);
}

uint64_t time_us(void)
{
	return time_ns() / 1000;
}

void time_delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + time_scale(us, tsc_hz, 1000000);
	while ((int64_t)(rdtsc() - end) < 0)
		pause();
}
