/* app.h - the one call the kernel makes into whatever it runs (a
 * unikernel's main): the kernel knows no service by name. */
#ifndef KERNEL_APP_H
#define KERNEL_APP_H

void app_main(void) __attribute__((noreturn));

#endif
