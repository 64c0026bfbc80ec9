/* smp.h - bringing up the application processors. */
#ifndef SMP_SMP_H
#define SMP_SMP_H

#include <stdbool.h>

/* From the ACPI cores: fills cpus[] and the APIC-ID index, and sets up the
 * BSP's own struct cpu. */
void smp_init(void);
/* INIT-SIPI-SIPI every AP in turn; an AP that does not answer within
 * SMP_AP_TIMEOUT_MS is reported and skipped. Prints "cores online: N". */
void smp_start_aps(void);
/* One small task per online core; passes when every core ran one. */
bool smp_selftest(void);

#define SMP_AP_TIMEOUT_MS 2000

#endif
