/* console.h - the serial console (COM1), shared by every core. */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H
#include <stdarg.h>

void console_init(void);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int console_vprintf(const char *fmt, va_list ap);
/* For panic: prints without taking the console lock (whoever holds it may
 * be the core that faulted). */
int console_printf_unlocked(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
