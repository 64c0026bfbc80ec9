/* console.c - 16550 UART on COM1, polled output at 115200 8N1. One lock
 * keeps lines from different cores whole. */
#include "console.h"

#include <stdint.h>

#include "fmt.h"
#include "spinlock.h"
#include "x86.h"

#define COM1            0x3f8
#define UART_THR        0       /* transmit holding (DLAB=0) */
#define UART_DLL        0       /* divisor low (DLAB=1) */
#define UART_IER        1
#define UART_DLM        1       /* divisor high (DLAB=1) */
#define UART_FCR        2
#define   FCR_ENABLE    0x01
#define   FCR_CLEAR     0x06
#define UART_LCR        3
#define   LCR_8N1       0x03
#define   LCR_DLAB      0x80
#define UART_MCR        4
#define   MCR_DTR_RTS   0x03
#define UART_LSR        5
#define   LSR_THRE      0x20

static struct spinlock console_lock;

void console_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, 1);       /* 115200 baud */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, FCR_ENABLE | FCR_CLEAR);
	outb(COM1 + UART_MCR, MCR_DTR_RTS);
}

static void uart_putc(char c, void *arg)
{
	(void)arg;
	if (c == '\n')
		uart_putc('\r', 0);
	for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
		pause();
	outb(COM1 + UART_THR, (uint8_t)c);
}

int console_vprintf(const char *fmt, va_list ap)
{
	uint64_t flags = read_rflags();
	cli();
	spin_lock(&console_lock);
	int n = fmt_format(uart_putc, 0, fmt, ap);
	spin_unlock(&console_lock);
	if (flags & RFLAGS_IF)
		sti();
	return n;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = console_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int console_printf_unlocked(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_format(uart_putc, 0, fmt, ap);
	va_end(ap);
	return n;
}
